// Package audit is a tamper-evident audit trail of access to and changes of
// personal data (GDPR Art. 5(2) accountability, Art. 30, Art. 32). The full
// documentation is being written.
package audit
