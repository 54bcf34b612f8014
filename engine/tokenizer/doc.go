// Package tokenizer turns text into the token ids of Qwen2-family models and
// back: the byte-level BPE of a Hugging Face tokenizer.json (NFC
// normalisation, the Qwen2 pre-tokenizer pattern, merges by rank, added and
// special tokens matched before BPE), exact decoding to bytes, a streaming
// decoder that holds back incomplete UTF-8, and the ChatML chat layout of
// the Qwen2.5 chat template.
package tokenizer
