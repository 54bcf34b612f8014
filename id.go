package attune

import (
	"strings"

	"github.com/oklog/ulid/v2"
)

// The prefixes of attune's identifiers. An id is its prefix followed by a
// ULID, so ids sort by creation time and say what they name. Upload tasks
// are bare ULIDs, as NuGen's are.
const (
	PrefixDocument   = "doc_"
	PrefixBenchmark  = "benchmark_"
	PrefixAlignment  = "alignment_"
	PrefixEvaluation = "eval_"
	PrefixModel      = "aligned-"
	PrefixUser       = "user_"
	PrefixKey        = "key_"
	PrefixTask       = "task_"
)

// NewID returns a new identifier: prefix followed by a fresh ULID. IDs made
// by one process are strictly increasing.
func NewID(prefix string) string {
	return prefix + ulid.Make().String()
}

// ValidID reports whether id is prefix followed by a well-formed ULID. The
// API uses it to answer a malformed id like an unknown one.
func ValidID(prefix, id string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok {
		return false
	}
	_, err := ulid.ParseStrict(rest)
	return err == nil
}
