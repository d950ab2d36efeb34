// Command gdpr is the operator's command line for the gdpr library: it
// verifies and proves the audit trail, reports and rotates the KEK of the
// subjects' keys, lists, and retries the data subjects' requests, runs
// the retention sweep (or says what it would delete), validates and
// renders the record of processing activities, and lists and renders
// personal-data breaches, against the production database, from a shell.
//
//	gdpr audit verify --dsn postgres://… --pseudonym-key-file k --audit-key-file s
//	gdpr audit prove --index 41 --json
//	gdpr keys rewrap --kek-file kek-v3.json --kek-id kms-v3 --previous-kek kms-v2=kek-v2.json
//	gdpr requests overdue
//	gdpr retention sweep --dry-run --register register.json --targets targets.json
//	gdpr register validate register.json
//	gdpr breach notice 0196… --format html > notice.html
//
// The database comes from --dsn or GDPR_DSN; the driver is picked from its
// form (postgres://…, a MySQL DSN user@tcp(host)/db or mysql://…, a SQLite
// file or file: URI). Secrets come from files or the environment, never
// from flags that would land in a shell's history: --pseudonym-key-file
// (or GDPR_PSEUDONYM_KEY_FILE) holds the audit trail's 32-byte pseudonym
// key, hex or raw; --audit-key-file (GDPR_AUDIT_KEY_FILE) the checkpoint
// signing key as audit.GenerateKey writes it; --subject-key-file
// (GDPR_SUBJECT_KEY_FILE) the request engine's subject key; the KEK is a
// key in a KMS (--kek-uri hcvault://…, HashiCorp Vault's transit engine,
// its token in VAULT_TOKEN) or a Tink keyset file; --dev-keys the
// development key set of insecuredevkeys (never in production).
//
// Exit codes: 0 clean; 1 a problem found (a verification that fails, a
// register that does not validate); 2 a usage, configuration or
// connection error. No error names a personal-data value.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
