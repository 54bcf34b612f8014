//go:build goexperiment.simd && amd64

package generate

import "simd/archsimd"

func init() {
	if archsimd.X86.AVX2() && archsimd.X86.FMA() {
		sumExpFast = sumExpAVX2
	}
}

// sumExpAVX2 is sumExp four values at a time in float64, by expShifted's
// method: k = x·log2e rounded to nearest by adding 1.5·2⁵², which leaves
// k in the low bits of the sum, so that 2^k is those bits plus the
// exponent bias shifted into place; e^r by the same degree-8 series.
// Arguments below -700 give 0, as in expShifted. It returns how many
// values it summed and their sum.
func sumExpAVX2(x []float32, m float32) (int, float64) {
	const magic = 0x1.8p52
	mv := archsimd.BroadcastFloat64x4(float64(m))
	floor := archsimd.BroadcastFloat64x4(-700)
	magicv := archsimd.BroadcastFloat64x4(magic)
	acc0 := archsimd.BroadcastFloat64x4(0)
	acc1 := acc0
	i := 0
	for ; i+8 <= len(x); i += 8 {
		acc0 = acc0.Add(exp4(archsimd.LoadFloat32x4Slice(x[i:]).ConvertToFloat64().Sub(mv), floor, magicv))
		acc1 = acc1.Add(exp4(archsimd.LoadFloat32x4Slice(x[i+4:]).ConvertToFloat64().Sub(mv), floor, magicv))
	}
	var lanes [4]float64
	acc0.Add(acc1).Store(&lanes)
	return i, (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
}

// exp4 returns e^d for four d <= 0, 0 where d < floor (-700).
func exp4(d, floor, magic archsimd.Float64x4) archsimd.Float64x4 {
	kf := d.MulAdd(archsimd.BroadcastFloat64x4(log2e), magic)
	k := kf.Sub(magic)
	r := k.MulAdd(archsimd.BroadcastFloat64x4(-ln2Hi), d)
	r = k.MulAdd(archsimd.BroadcastFloat64x4(-ln2Lo), r)
	p := archsimd.BroadcastFloat64x4(1.0 / 40320)
	for _, c := range [...]float64{1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 1.0 / 2, 1, 1} {
		p = p.MulAdd(r, archsimd.BroadcastFloat64x4(c))
	}
	scale := kf.AsInt64x4().Add(archsimd.BroadcastInt64x4(1023)).ShiftAllLeft(52).AsFloat64x4()
	return p.Mul(scale).Masked(floor.LessEqual(d))
}
