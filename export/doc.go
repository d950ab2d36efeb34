// Package export answers the right of access (Art. 15) and the right to
// data portability (Art. 20): it assembles a subject's data from every
// place the host keeps it into one signed bundle, machine- and
// human-readable, delivers it once, and lets the receiving side check
// it.
//
// # Sources
//
// A Builder asks each of its Sources, in order, for the subject's
// records: each is a gdpr.Exporter, so the consent ledger
// (consent.Ledger), the key store (crypto.Keyring), the audit log
// (audit.Log: who accessed the data), the request engine's history
// (erasure.Engine) and the host's own tables are sources alike. A source
// that fails aborts the bundle with an error naming it (ErrSource), and
// nothing at all has been written: the records are spooled first, and
// the archive is written only once every source has succeeded. A
// source's Redact hook removes what would adversely affect others
// (Art. 15(4)).
//
// An access bundle holds every record, and the supplementary information
// of Art. 15(1)(a)–(h) and 15(2) (Information), from the Register: the
// purposes, the categories, the recipients and the actual recipients the
// host records (WithDisclosures; CJEU C-154/21), the retention or its
// criteria, the rights of rectification, erasure, restriction and
// objection, the right to complain to a supervisory authority
// (WithAuthority), the source of data not collected from the subject,
// automated decision-making with meaningful information about its logic,
// and the safeguards of transfers. A portability bundle holds only the
// records the subject provided (gdpr.Record.Provided) under an activity
// whose basis is consent or a contract (Art. 20(1)); the manifest counts
// the others as Omitted. A Handler sends it directly to another
// controller where the host wired a Transmitter (Art. 20(2)).
//
// # The bundle
//
// A bundle is a ZIP archive (or several parts, WriteParts) holding, in
// this order:
//
//	data/<dataset>.json  each dataset's records, a JSON array of one record per line
//	data/<dataset>.csv   the same records flattened for spreadsheets (RFC 4180)
//	information.json     the Art. 15 information (access bundles)
//	index.html           a page for people: the controller, the information, the data as tables
//	manifest.json        last: the format, the time, every file's part, records, size and SHA-256; signed
//
// The JSON files are exact: values JSON has no type for ([]byte, strings
// that are not UTF-8, times) are tagged so that Bundle.Records gives back
// what the source wrote: a record's "types" member maps the JSON Pointer
// (RFC 6901) of each such value to "bytes", "binary-string" or "time",
// and the value is a base64 or RFC 3339 string that a consumer knowing
// nothing of this package reads as it is. Numbers come back as
// json.Number, exact. The CSV
// files flatten nested objects into dotted columns and arrays into JSON
// cells, and neutralise cells a spreadsheet would run as formulas (a
// leading apostrophe before =, +, -, @, tab, carriage return). The HTML
// page is made with html/template, has no script, loads nothing, and
// carries a content-security policy that allows only its own inline
// style, by hash.
//
// The manifest is signed with Ed25519 (New takes a crypto.Signer, so the
// key may live in a KMS or HSM): the signature covers the manifest in the
// canonical JSON of RFC 8785, so any implementation can check it
// offline, and the manifest covers every byte of every file. The same
// records, Register and clock give the same bytes.
//
// Memory stays constant whatever the number of records: every dataset is
// spooled to a temporary file encrypted under a key that lives only in
// memory (Tink's streaming AEAD), unlinked at once, and the entries are
// then streamed into the archive one after the other. Each dataset costs
// two open files and about 80 KiB while a bundle is written; a bundle
// holds at most 256 datasets, a record at most 64 MiB as JSON, a field
// name at most 1024 bytes. Large bundles are
// split into parts of about WithPartSize bytes, with one manifest over
// all.
//
// # Reading a bundle
//
// Open and OpenParts are for the receiving side (Art. 20(2)), and for the
// subject's own tools: they check the archive, the signature against the
// keys the caller trusts (never the key the bundle names), every file's
// size and hash, that nothing is missing or extra, that no path leaves
// the archive, and the limits against decompression bombs (WithMaxSize,
// WithMaxRatio); Bundle.Records then iterates over a dataset's records.
//
// # Delivery
//
// A Deliverer keeps a bundle as blobs (DirBlobs, or the host's object
// store behind Blobs) until it is downloaded or expires (Art. 5(1)(e)).
// Each part has its own single-use token: 32 random bytes, of which the
// Store keeps only the SHA-256; the part is encrypted at rest under a key
// derived from its token, and optionally to a key or passphrase the
// subject supplied, with age. A download spends the token, is recorded
// through the Recorder, and deletes the part; Sweep deletes what
// expired; EraseSubject deletes a subject's deliveries, so no bundle
// outlives an erasure. Deliverer.ServeHTTP serves the links: a GET shows
// a button and spends nothing (mail scanners fetch links), the POST it
// makes downloads.
//
// Access and portability requests run on the request engine (package
// erasure), which gives them their Art. 12(3) deadline, the identity
// check and retries: register a Handler for both kinds with
// erasure.WithHandler.
//
// # Storage
//
// The Builder and the reader keep nothing. The Deliverer keeps its
// deliveries in a Store: package memexport holds them in memory (the
// fake for tests, with in-memory Blobs), package sqlexport in
// PostgreSQL, MySQL or SQLite.
//
// # Errors
//
// Every error is an *Error with the operation, the option, field, source
// or archive path at fault, and a cause that wraps one of the sentinels:
// ErrInvalid (and gdpr.ErrInvalid), ErrNotFound (an unknown, used or
// expired token alike), ErrConflict, ErrSource, ErrBundle, ErrSignature,
// ErrTooLarge, ErrSpent; errors of the host's own writers, blobs and
// signer are passed on as they are. No error holds a personal-data
// value or a token: dataset, source and field names (as keys) and
// archive paths only.
//
// # Testing
//
// memexport's Store and Blobs are the fakes; exporttest.RunStoreTests and
// RunBlobsTests check a host's own. gdprtest.RunExporterTests checks a
// host's source before it is added to a Builder.
package export
