package train

import "math"

// exp returns e^x to within a few f64 ulps, faster than math.Exp; the
// training loops call it hundreds of millions of times a step (softmax over
// the vocabulary, SiLU, attention), and their results are rounded to f32.
// x = k·ln2 + r with |r| <= ln2/2, e^r by a degree-11 polynomial, and 2^k
// put into the exponent.
func exp(x float64) float64 {
	switch {
	case x > 709:
		return math.Inf(1)
	case x < -708:
		return 0
	case x != x:
		return x
	}
	const ln2Hi, ln2Lo = 6.93147180369123816490e-01, 1.90821492927058770002e-10
	k := math.Floor(x*math.Log2E + 0.5)
	r := x - k*ln2Hi - k*ln2Lo

	// Taylor coefficients 1/n! for n = 11 down to 0, by Horner's rule.
	p := 2.505210838544172e-08
	p = p*r + 2.755731922398589e-07
	p = p*r + 2.755731922398589e-06
	p = p*r + 2.48015873015873e-05
	p = p*r + 1.984126984126984e-04
	p = p*r + 1.388888888888889e-03
	p = p*r + 8.333333333333333e-03
	p = p*r + 4.166666666666666e-02
	p = p*r + 1.666666666666667e-01
	p = p*r + 0.5
	p = p*r + 1
	p = p*r + 1
	return p * math.Float64frombits(uint64(int64(k)+1023)<<52)
}
