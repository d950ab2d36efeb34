module github.com/gdprkit/gdpr

go 1.25.0
