package export

import (
	"bufio"
	"crypto/rand"
	"io"
	"os"
	"runtime"

	"github.com/tink-crypto/tink-go/v2/streamingaead/subtle"
)

// A spool holds one stream of a bundle (a dataset's JSON lines, or its
// CSV rows) while the sources are read, so that the archive's entries
// can be written one after the other however the sources interleave
// their datasets, with memory bounded by the buffers. It is a temporary
// file encrypted with Tink's streaming AEAD (AES-256-GCM-HKDF, 16 KiB
// segments, whose writer is the spool's only buffer: about 40 KiB a
// spool) under a key that exists only in memory for one bundle, and
// unlinked as soon as it is created where the system allows it, so
// neither a crash nor a look at the disk leaves the subject's data
// readable.

const spoolSegment = 16 << 10

type spooler struct {
	aead *subtle.AESGCMHKDF
	dir  string
}

func newSpooler(dir string) (*spooler, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	a, err := subtle.NewAESGCMHKDF(key, "SHA256", 32, spoolSegment, 0)
	if err != nil {
		return nil, err
	}
	return &spooler{aead: a, dir: dir}, nil
}

type spool struct {
	sp       *spooler
	aad      []byte
	f        *os.File
	unlinked bool
	enc      io.WriteCloser
	w        io.Writer // enc, which buffers a segment
	size     int64     // ciphertext bytes in f
}

// create makes a spool whose ciphertext is bound to name.
func (sp *spooler) create(name string) (*spool, error) {
	f, err := os.CreateTemp(sp.dir, "gdpr-export-*")
	if err != nil {
		return nil, err
	}
	s := &spool{sp: sp, aad: []byte(name), f: f}
	if runtime.GOOS != "windows" {
		if os.Remove(f.Name()) == nil {
			s.unlinked = true
		}
	}
	s.enc, err = sp.aead.NewEncryptingWriter(f, s.aad)
	if err != nil {
		s.close()
		return nil, err
	}
	s.w = s.enc
	return s, nil
}

// finish ends writing: everything written is in the file.
func (s *spool) finish() error {
	if err := s.enc.Close(); err != nil {
		return err
	}
	fi, err := s.f.Stat()
	if err != nil {
		return err
	}
	s.size = fi.Size()
	return nil
}

// reader returns a new reader of the spool's plaintext from the start;
// it may be called more than once after finish.
func (s *spool) reader() (*bufio.Reader, error) {
	r, err := s.sp.aead.NewDecryptingReader(io.NewSectionReader(s.f, 0, s.size), s.aad)
	if err != nil {
		return nil, err
	}
	return bufio.NewReaderSize(r, 64<<10), nil
}

// close closes and removes the file.
func (s *spool) close() {
	s.f.Close()
	if !s.unlinked {
		os.Remove(s.f.Name())
	}
}
