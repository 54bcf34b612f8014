// Package attune holds the domain of a self-hosted domain-alignment
// service: the documents a user uploads, the benchmarks built from them, the
// alignments that fine-tune a base model on them, the evaluations that
// measure the result, and the error kinds every part reports.
//
// Implementations live in packages named after what they wrap (store, blob,
// jobs, api, engine/...); cmd/attune wires them together.
package attune
