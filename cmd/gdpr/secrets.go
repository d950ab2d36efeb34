package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/spf13/pflag"
	"golang.org/x/mod/sumdb/note"

	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/insecuredevkeys"
)

// secretFlags name the files the secrets are read from: never the
// secrets themselves, which would land in a shell's history.
type secretFlags struct {
	pseudonymKeyFile string
	auditKeyFile     string
	devKeys          string
}

func (s *secretFlags) flags(f *pflag.FlagSet) {
	f.StringVar(&s.pseudonymKeyFile, "pseudonym-key-file", os.Getenv("GDPR_PSEUDONYM_KEY_FILE"),
		"file of the audit trail's pseudonym key, 32 bytes or more, raw or hex (default $GDPR_PSEUDONYM_KEY_FILE)")
	f.StringVar(&s.auditKeyFile, "audit-key-file", os.Getenv("GDPR_AUDIT_KEY_FILE"),
		"file of the checkpoint signing key, as audit.GenerateKey writes it (default $GDPR_AUDIT_KEY_FILE)")
	f.StringVar(&s.devKeys, "dev-keys", os.Getenv("GDPR_DEV_KEYS"),
		"the development key set of insecuredevkeys, in place of the two files (never in production; default $GDPR_DEV_KEYS)")
}

// readSecret reads a secret file, which only its owner may read.
func readSecret(flag, path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: cannot read the file", flag)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("--%s: the file is open to others than its owner (want mode 0600)", flag)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: cannot read the file", flag)
	}
	return b, nil
}

// keyBytes is a key file's key: hex (spaces and a line end around it
// ignored), or else the file's bytes exactly — a raw key may start or end
// with a byte that reads as white space, and trimming it would make
// another key.
func keyBytes(raw []byte) []byte {
	if h, err := hex.DecodeString(string(bytes.TrimSpace(raw))); err == nil && len(h) > 0 {
		return h
	}
	return raw
}

// auditKeys returns the audit trail's pseudonym key and checkpoint
// signer and verifier.
func (s *secretFlags) auditKeys() (key []byte, signer note.Signer, verifier note.Verifier, err error) {
	if s.devKeys != "" {
		b, err := readSecret("dev-keys", s.devKeys)
		if err != nil {
			return nil, nil, nil, err
		}
		dev, err := insecuredevkeys.Parse(b)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("--dev-keys: %v", err)
		}
		signer, verifier, err := dev.AuditSigner()
		return dev.PseudonymKey(), signer, verifier, err
	}
	if s.pseudonymKeyFile == "" || s.auditKeyFile == "" {
		return nil, nil, nil, fmt.Errorf("the audit trail's keys: give --pseudonym-key-file and --audit-key-file (or --dev-keys)")
	}
	raw, err := readSecret("pseudonym-key-file", s.pseudonymKeyFile)
	if err != nil {
		return nil, nil, nil, err
	}
	key = keyBytes(raw)
	if len(key) < audit.MinKeySize {
		return nil, nil, nil, fmt.Errorf("--pseudonym-key-file: a key of at least %d bytes", audit.MinKeySize)
	}
	skey, err := readSecret("audit-key-file", s.auditKeyFile)
	if err != nil {
		return nil, nil, nil, err
	}
	signer, verifier, err = audit.NewSigner(string(bytes.TrimSpace(skey)))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--audit-key-file: not a signing key")
	}
	return key, signer, verifier, nil
}
