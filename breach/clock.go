package breach

import "time"

// NotificationPeriod is the time limit of Art. 33(1): the controller
// notifies the supervisory authority "not later than 72 hours after having
// become aware" of the breach.
const NotificationPeriod = 72 * time.Hour

// Clock is the time limit for notifying the supervisory authority of one
// breach, counted by Regulation (EEC, Euratom) No 1182/71 for a period
// expressed in hours:
//
//   - the hour in which the controller became aware does not count
//     (Art. 3(1), second subparagraph): the period starts at the beginning
//     of the next hour (Art. 3(2)(a));
//   - it ends with the expiry of its last hour (Art. 3(2)(a)), 72 hours
//     later;
//   - it does not move to a working day: Art. 3(4) applies to "periods
//     other than periods expressed in hours", so a breach found on a
//     Friday afternoon is due on the Monday afternoon.
//
// Hours are hours of elapsed time, and the hour boundaries those of the
// controller's zone (a zone half an hour off UTC starts its hours at the
// half hour). Across a change to or from summer time the period is still
// 72 hours long, so its end shows one hour later or earlier on the wall
// clock than its start.
type Clock struct {
	// Aware is when the controller became aware of the breach.
	Aware time.Time
	// Start is the beginning of the first hour of the period.
	Start time.Time
	// Due is the expiry of the period's last hour: a notification made
	// before Due is in time; one made at Due or later needs the reasons
	// for the delay (Art. 33(1)).
	Due time.Time
}

// NewClock returns the Clock of a breach the controller became aware of at
// aware, with its times in loc (UTC if nil).
func NewClock(aware time.Time, loc *time.Location) Clock {
	if loc == nil {
		loc = time.UTC
	}
	aware = aware.In(loc)
	// The beginning of the hour that holds aware, on the zone's clock:
	// subtract what has passed of it, so that a change of offset (which
	// zones make on an hour or half-hour boundary) never moves the start.
	into := time.Duration(aware.Minute())*time.Minute +
		time.Duration(aware.Second())*time.Second +
		time.Duration(aware.Nanosecond())
	start := aware.Add(-into).Add(time.Hour)
	return Clock{Aware: aware, Start: start, Due: start.Add(NotificationPeriod).In(loc)}
}

// Late reports whether a notification made at t is late: at or after Due.
// A Clock without a Due (a processor's breach, which has no fixed period)
// is never late.
func (c Clock) Late(t time.Time) bool { return !c.Due.IsZero() && !t.Before(c.Due) }

// Left returns the time left at now before Due; negative once it has
// passed.
func (c Clock) Left(now time.Time) time.Duration { return c.Due.Sub(now) }
