module github.com/gdprkit/gdpr

go 1.25.0

require (
	filippo.io/age v1.3.2
	github.com/google/uuid v1.6.0
	github.com/tink-crypto/tink-go/v2 v2.9.0
	golang.org/x/crypto v0.55.0
	golang.org/x/mod v0.40.0
)

require (
	filippo.io/hpke v0.4.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)
