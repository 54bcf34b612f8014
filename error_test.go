package attune

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorKind(t *testing.T) {
	tests := []struct {
		err  error
		want Kind
	}{
		{Errorf(KindNotFound, "no document %q", "doc_1"), KindNotFound},
		{fmt.Errorf("store: %w", Invalidf("name", "name is empty")), KindInvalid},
		{errors.New("disk on fire"), KindInternal},
		{nil, KindInternal},
	}
	for _, tt := range tests {
		if got := ErrorKind(tt.err); got != tt.want {
			t.Errorf("ErrorKind(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestErrorMessageHidesInternal(t *testing.T) {
	if got, want := ErrorMessage(errors.New("secret path /x")), "internal error"; got != want {
		t.Errorf("ErrorMessage = %q, want %q", got, want)
	}
	err := fmt.Errorf("api: %w", Errorf(KindConflict, "model is deployed"))
	if got, want := ErrorMessage(err), "model is deployed"; got != want {
		t.Errorf("ErrorMessage = %q, want %q", got, want)
	}
}
