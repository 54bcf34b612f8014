// Package runtime serves deployed models. It keeps one in-memory copy of
// each base model, shared by every aligned model of that base, and attaches
// an aligned model's LoRA adapter per request, so that many aligned models
// cost little more memory than their base. A scheduler shares the engine
// among concurrent requests fairly, and a request whose context ends (the
// client went away) stops generating.
package runtime
