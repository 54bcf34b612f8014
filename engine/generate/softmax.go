package generate

import "math"

// Softmax sums over a 151,936-entry vocabulary take one exponential per
// logit, for every generated token and every scored position; math.Exp
// made them the largest cost of decoding after the model itself. expShifted
// is a cheaper exponential for the arguments those sums see (x <= 0), and
// sumExp accumulates it in float64. logSumExpRef is the plain version the
// tests hold them to.

// Range reduction constants: ln 2 split so that k*ln2Hi is exact.
const (
	log2e = 1.4426950408889634
	ln2Hi = 0.693145751953125
	ln2Lo = 1.4286068203094173e-06
)

// expShifted returns e^x for x <= 0 with a relative error below 1e-9
// (underflowing to 0 below -700). e^x = 2^k · e^r with k = round(x/ln 2)
// and |r| <= ln2/2, and e^r by its Taylor series to degree 8.
func expShifted(x float64) float64 {
	if x < -700 {
		return 0
	}
	k := int(x*log2e - 0.5) // x <= 0: truncation rounds to nearest
	r := x - float64(k)*ln2Hi - float64(k)*ln2Lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040+r*(1.0/40320))))))))
	return p * math.Float64frombits(uint64(k+1023)<<52)
}

// sumExp returns Σ e^(x[i] - m), for m >= every x[i], summed in float64
// over independent partial sums.
func sumExp(x []float32, m float32) float64 {
	mf := float64(m)
	i, s0 := sumExpFast(x, m)
	var s1, s2, s3 float64
	for ; i+4 <= len(x); i += 4 {
		s0 += expShifted(float64(x[i]) - mf)
		s1 += expShifted(float64(x[i+1]) - mf)
		s2 += expShifted(float64(x[i+2]) - mf)
		s3 += expShifted(float64(x[i+3]) - mf)
	}
	for ; i < len(x); i++ {
		s0 += expShifted(float64(x[i]) - mf)
	}
	return (s0 + s1) + (s2 + s3)
}

// sumExpFast is sumExp's vector form where the CPU has one
// (softmax_simd.go): it sums a prefix of x and returns its length.
var sumExpFast = func(x []float32, m float32) (int, float64) { return 0, 0 }

// logSumExp returns log Σ exp(x).
func logSumExp(x []float32) float64 {
	m := x[argmax(x)]
	return float64(m) + math.Log(sumExp(x, m))
}

// logSumExpRef is logSumExp with math.Exp and one running sum.
func logSumExpRef(x []float32) float64 {
	m := x[argmax(x)]
	var sum float64
	for _, v := range x {
		sum += math.Exp(float64(v) - float64(m))
	}
	return float64(m) + math.Log(sum)
}
