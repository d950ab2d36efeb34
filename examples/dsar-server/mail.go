package main

import (
	"context"
	"net/textproto"
	"sync"
	"time"
)

// message is an e-mail the app sends: a sign-in link, a download link, a
// notice about a request. Its body holds secrets (links) and personal
// data (the address): it goes to the mailer and nowhere else, never to a
// log.
type message struct {
	To      string
	Subject string
	// Header holds the message's extra header fields, such as the
	// List-Unsubscribe and List-Unsubscribe-Post of a bulk message.
	Header textproto.MIMEHeader
	Body   string
	Sent   time.Time
}

// mailer sends the app's e-mail. Production sends it through the host's
// mail service (SMTP, an API); the development mailbox keeps it in memory
// for the /dev/mailbox page.
type mailer interface {
	send(ctx context.Context, m message) error
}

// devMailbox keeps the last messages in memory, newest first, for the
// development mailbox page. It is for development only: it shows every
// message to whoever opens the page, and each instance has its own.
type devMailbox struct {
	mu   sync.Mutex
	msgs []message
}

const mailboxSize = 50

func (b *devMailbox) send(_ context.Context, m message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append([]message{m}, b.msgs...)
	if len(b.msgs) > mailboxSize {
		b.msgs = b.msgs[:mailboxSize]
	}
	return nil
}

func (b *devMailbox) list() []message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]message(nil), b.msgs...)
}
