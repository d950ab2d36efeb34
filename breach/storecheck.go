package breach

import "fmt"

// The checks below are for Store implementations, so that every Store
// refuses the same arguments with the same errors: membreach and sqlbreach
// call them first, and a host's own Store can too.

// CheckEvent checks the arguments of Store.Append: a breach ID (a UUID),
// a Seq of 1 or more, a time, a known Kind and JSON Data. The error is an
// *Error with Op "append" wrapping ErrInvalid.
func CheckEvent(ev Event) error {
	var err error
	switch {
	case checkID(ev.Breach) != nil:
		err = invalid("Breach", "not a breach ID")
	case ev.Seq < 1:
		err = invalid("Seq", "from 1")
	case ev.Time.IsZero() || ev.Time.Year() < 1970 || ev.Time.Year() > 9999:
		err = invalid("Time", "a time from 1970 to 9999")
	case !ev.Kind.valid():
		err = invalid("Kind", "unknown kind "+show(string(ev.Kind)))
	case !jsonValid(ev.Data):
		err = invalid("Data", "not JSON")
	case len(ev.Data) > maxEventData:
		err = invalid("Data", fmt.Sprintf("more than %d bytes", maxEventData))
	}
	return wrap("append", err)
}

// maxEventData is the largest event Data a Store must keep.
const maxEventData = 1 << 20

// CheckNotice checks the arguments of Store.Claim (claim true: Outcome
// Pending) and Store.Settle (Sent, Failed or Skipped): a breach ID, a
// 32-byte Ref and a time. The error is an *Error with Op op wrapping
// ErrInvalid.
func CheckNotice(op string, n Notice, claim bool) error {
	var err error
	switch {
	case checkID(n.Breach) != nil:
		err = invalid("Breach", "not a breach ID")
	case len(n.Ref) != 32:
		err = invalid("Ref", "32 bytes")
	case n.Time.IsZero() || n.Time.Year() < 1970 || n.Time.Year() > 9999:
		err = invalid("Time", "a time from 1970 to 9999")
	case claim && n.Outcome != Pending:
		err = invalid("Outcome", "a claim is Pending")
	case !claim && n.Outcome != Sent && n.Outcome != Failed && n.Outcome != Skipped:
		err = invalid("Outcome", "one of sent, failed, skipped")
	}
	return wrap(op, err)
}

// CheckLimit checks a page's limit: 1 to MaxPage. The error is an *Error
// with Op op wrapping ErrInvalid.
func CheckLimit(op string, limit int) error {
	if limit < 1 || limit > MaxPage {
		return wrap(op, invalid("limit", fmt.Sprintf("1 to %d", MaxPage)))
	}
	return nil
}
