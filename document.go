package attune

import "time"

// Status is the processing state of a document, a benchmark, an upload
// task or an evaluation.
type Status string

// The processing states. Long work starts PROCESSING and ends READY or
// FAILED.
const (
	StatusProcessing Status = "PROCESSING"
	StatusReady      Status = "READY"
	StatusFailed     Status = "FAILED"
)

// Document is a file a user uploaded. Its bytes live in the blob store under
// SHA256; ingestion extracts its text into another blob (TextSHA256) that
// chunking and benchmark generation read.
type Document struct {
	ID         string // doc_<ulid>
	OwnerID    string // the user who uploaded it
	Filename   string // unique per owner
	Type       string // the file type: its extension without the dot ("md", "pdf")
	Size       int64  // bytes
	SHA256     string // hex digest of the bytes, the blob's key
	Categories []string
	Status     Status
	Error      string  // why ingestion failed, for a person; empty otherwise
	Progress   float64 // ingestion progress, 0..100
	TextSHA256 string  // blob of the extracted UTF-8 text; empty until READY
	Chunks     int     // number of chunks the text splits into; 0 until READY
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// UploadTask tracks one uploaded file from the moment it is received until
// its document is READY or FAILED. Its id is a bare ULID, as NuGen's upload
// task ids are.
type UploadTask struct {
	ID         string
	OwnerID    string
	Filename   string
	DocumentID string // the document the file became; empty if none was made
	Status     Status
	Error      string // why the upload failed, for a person
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// CategoryCount is one document category and how many of a user's documents
// carry it.
type CategoryCount struct {
	Name  string
	Count int
}

// ExistsError is the cause inside a KindConflict Error when a resource that
// must be unique already exists; ID names the existing one, so that the API
// can point the client at it (a second upload of the same file name answers
// the existing document's id).
type ExistsError struct {
	ID string
}

// Error returns a message naming the existing resource.
func (e *ExistsError) Error() string { return "it already exists as " + e.ID }
