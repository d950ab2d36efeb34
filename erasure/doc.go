// Package erasure is the request engine: every data-subject request's
// lifecycle from receipt to proof, with the deadlines of Art. 12(3),
// identity checks, fan-out of an erasure (Art. 17) to every store that
// holds the subject's data, crash-safe workers on many instances, and
// replay after a backup restore.
package erasure
