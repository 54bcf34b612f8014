package train

import (
	"math"

	"attune/engine/lora"
	"attune/engine/qwen2"
)

// adamW is AdamW with decoupled weight decay, as torch.optim.AdamW computes
// it. For step t = 1, 2, … and each parameter p with gradient g:
//
//	p -= lr · wd · p
//	m  = β1 m + (1-β1) g
//	v  = β2 v + (1-β2) g²
//	p -= lr · (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + eps)
//
// The moments have the adapter's shape and are kept in f32.
type adamW struct {
	beta1, beta2, eps, wd float64
	t                     int           // steps taken
	m, v                  *lora.Adapter // moments, same shape as the adapter
}

func newAdamW(ad *lora.Adapter, beta1, beta2, eps, wd float64) *adamW {
	o := &adamW{beta1: beta1, beta2: beta2, eps: eps, wd: wd, m: ad.Clone(), v: ad.Clone()}
	zero(o.m)
	zero(o.v)
	return o
}

// zero clears every factor of a.
func zero(a *lora.Adapter) {
	a.Each(func(_ int, _ qwen2.Target, f *lora.Factors) {
		clear(f.A)
		clear(f.B)
	})
}

// step applies one update with learning rate lr to ad given its gradient.
func (o *adamW) step(ad, grad *lora.Adapter, lr float64) {
	o.t++
	bc1 := 1 - math.Pow(o.beta1, float64(o.t))
	bc2 := 1 - math.Pow(o.beta2, float64(o.t))
	upd := func(p, g, m, v []float32) {
		for i := range p {
			gi := float64(g[i])
			pi := float64(p[i]) * (1 - lr*o.wd)
			mi := o.beta1*float64(m[i]) + (1-o.beta1)*gi
			vi := o.beta2*float64(v[i]) + (1-o.beta2)*gi*gi
			m[i], v[i] = float32(mi), float32(vi)
			p[i] = float32(pi - lr*(mi/bc1)/(math.Sqrt(vi/bc2)+o.eps))
		}
	}
	// The layers are independent: they are updated in parallel, each
	// element by the same arithmetic as in a serial loop.
	parallel(len(ad.Layers), func(_, lo, hi int) {
		for l := lo; l < hi; l++ {
			for i, f := range ad.Layers[l] {
				if f == nil {
					continue
				}
				g, m, v := grad.Layers[l][i], o.m.Layers[l][i], o.v.Layers[l][i]
				upd(f.A, g.A, m.A, v.A)
				upd(f.B, g.B, m.B, v.B)
			}
		}
	})
}

// gradNorm returns the global L2 norm of every gradient in grad.
func gradNorm(grad *lora.Adapter) float64 {
	var ss float64
	grad.Each(func(_ int, _ qwen2.Target, f *lora.Factors) {
		for _, x := range f.A {
			ss += float64(x) * float64(x)
		}
		for _, x := range f.B {
			ss += float64(x) * float64(x)
		}
	})
	return math.Sqrt(ss)
}

// clipGrad scales grad so that its global norm is at most maxNorm, as
// torch.nn.utils.clip_grad_norm_ does, and returns the norm before
// clipping. maxNorm <= 0 turns clipping off.
func clipGrad(grad *lora.Adapter, maxNorm float64) float64 {
	norm := gradNorm(grad)
	if maxNorm <= 0 || norm <= maxNorm {
		return norm
	}
	c := float32(maxNorm / (norm + 1e-6))
	grad.Each(func(_ int, _ qwen2.Target, f *lora.Factors) {
		for i := range f.A {
			f.A[i] *= c
		}
		for i := range f.B {
			f.B[i] *= c
		}
	})
	return norm
}

// learningRate returns the rate for 0-based optimizer step s of total:
// linear warm-up from 0 over warmup steps, then cosine decay to 0, as
// Hugging Face's cosine schedule with warm-up.
func learningRate(peak float64, s, warmup, total int) float64 {
	if s < warmup {
		return peak * float64(s) / float64(max(1, warmup))
	}
	progress := float64(s-warmup) / float64(max(1, total-warmup))
	return peak * 0.5 * (1 + math.Cos(math.Pi*progress))
}
