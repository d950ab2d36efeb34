package export

import (
	"context"
	"io"
	"time"

	"github.com/gdprkit/gdpr"
)

// Delivery is a bundle waiting to be downloaded: its parts, each stored
// as a blob and fetched once with its own token. The Store keeps only a
// hash of each token; the blob is encrypted under a key derived from the
// token, so neither the Store nor the blobs alone can be read.
type Delivery struct {
	// ID identifies the delivery (a UUIDv7).
	ID string
	// Request is the ID of the request the bundle answers; may be empty
	// for a bundle the host made outside the request engine.
	Request string
	// Kind is gdpr.KindAccess or gdpr.KindPortability.
	Kind gdpr.RequestKind
	// Subject is the data subject the bundle is about: the delivery is
	// erased with their data (see Deliverer.EraseSubject), and each
	// download is recorded for them.
	Subject gdpr.SubjectID
	// Created is when the delivery was made, Expires when its tokens
	// stop working and its blobs are deleted (Art. 5(1)(e)).
	Created time.Time
	Expires time.Time
	// Parts are the bundle's parts, in order.
	Parts []DeliveryPart
}

// DeliveryPart is one part of a delivery.
type DeliveryPart struct {
	// TokenHash is the SHA-256 of the part's download token; 32 bytes,
	// unique across the Store.
	TokenHash []byte
	// Blob names the part's blob in the Blobs.
	Blob string
	// Size is the size of the part as the subject downloads it.
	Size int64
	// Downloaded is when the part was claimed for download; zero until
	// then. A part is claimed once.
	Downloaded time.Time
}

// Done reports whether every part of d was downloaded.
func (d Delivery) Done() bool {
	for _, p := range d.Parts {
		if p.Downloaded.IsZero() {
			return false
		}
	}
	return true
}

// DeliveryFilter selects deliveries for Store.List. Zero fields select
// everything; set fields are ANDed.
type DeliveryFilter struct {
	// Request selects the deliveries of one request.
	Request string
	// Subject selects the deliveries of one subject.
	Subject gdpr.SubjectID
	// Finished, when not zero, selects the deliveries that are over at
	// that time: expired (Expires at or before it), or with every part
	// downloaded at or before it.
	Finished time.Time
	// Limit caps the deliveries returned; 0 or less means DefaultLimit,
	// and more than MaxLimit is cut to MaxLimit (see PageSize).
	Limit int
}

// The page sizes of DeliveryFilter.Limit.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// PageSize returns the page a Store lists for a filter's limit: limit
// itself, DefaultLimit for 0 or less, MaxLimit past it.
func PageSize(limit int) int {
	switch {
	case limit <= 0:
		return DefaultLimit
	case limit > MaxLimit:
		return MaxLimit
	}
	return limit
}

// ValidBlobName reports whether name is a blob name a Blobs accepts,
// ^[a-z0-9-]{1,128}$: the names the Deliverer makes.
func ValidBlobName(name string) bool {
	if len(name) == 0 || len(name) > 128 {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-':
		default:
			return false
		}
	}
	return true
}

// Store keeps deliveries: package memexport holds them in memory (the
// fake for tests), package sqlexport in PostgreSQL, MySQL or SQLite;
// exporttest.RunStoreTests checks a Store meets this contract. Every
// method may be called concurrently, from many processes sharing the
// store; errors hold no personal data and no token hash.
type Store interface {
	// Create stores d, all of it or nothing. A delivery with d.ID, or a
	// part whose TokenHash another part holds, is ErrConflict; an empty
	// ID, no parts, a TokenHash not 32 bytes long, an empty Blob, a
	// negative Size, or Expires not after Created is ErrInvalid.
	Create(ctx context.Context, d Delivery) error
	// Get returns the delivery with the ID, or ErrNotFound.
	Get(ctx context.Context, id string) (Delivery, error)
	// Claim marks the part whose TokenHash is tokenHash downloaded at
	// now, and returns its delivery (with the part's Downloaded set) and
	// the part's index, if the part was not downloaded before and the
	// delivery has not expired at now (Expires after now). Of concurrent
	// claims of one part exactly one succeeds. Anything else is
	// ErrNotFound: an unknown, used or expired token alike. The part is
	// looked up by its token hash (an index, in a database): a timing
	// difference reveals nothing of a token, since what is looked up is
	// the SHA-256 of 32 random bytes; a store that compares hashes itself
	// compares them in constant time.
	Claim(ctx context.Context, tokenHash []byte, now time.Time) (Delivery, int, error)
	// List returns the deliveries f selects, ordered by Created then ID,
	// at most f.Limit of them.
	List(ctx context.Context, f DeliveryFilter) ([]Delivery, error)
	// Delete removes the delivery with the ID; deleting one that does
	// not exist succeeds.
	Delete(ctx context.Context, id string) error
}

// Blobs stores the bundles' bytes: the host's object store, a directory
// (DirBlobs), memory (memexport.Blobs). The bytes are already encrypted
// (see Delivery); a Blobs adds nothing to their protection but access
// control. Every method may be called concurrently. Names are keys the
// Deliverer makes; a name outside ^[a-z0-9-]{1,128}$ is ErrInvalid.
type Blobs interface {
	// Create returns a writer for a blob; the blob exists, complete,
	// once Close returns nil, replacing one of the same name. Once ctx is
	// done, Write and Close fail and no blob is made: that is how a
	// writer is abandoned. A second writer of a name being written is
	// ErrConflict. Remove deletes a blob being written too.
	Create(ctx context.Context, name string) (io.WriteCloser, error)
	// Open returns the blob's bytes, or ErrNotFound.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// Remove deletes the blob; removing one that does not exist
	// succeeds.
	Remove(ctx context.Context, name string) error
}
