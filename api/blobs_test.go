package api

import (
	"context"
	"io"

	"attune"
)

// nopBlobs is a blob store that holds nothing, for tests that never touch
// document bytes.
type nopBlobs struct{}

func (nopBlobs) Put(context.Context, io.Reader) (string, int64, error) {
	return "", 0, attune.Errorf(attune.KindUnavailable, "no blobs in this test")
}
func (nopBlobs) Open(context.Context, string) (io.ReadCloser, error) {
	return nil, attune.Errorf(attune.KindNotFound, "no blobs in this test")
}
func (nopBlobs) Has(context.Context, string) (bool, error) { return false, nil }
func (nopBlobs) Delete(context.Context, string) error      { return nil }
