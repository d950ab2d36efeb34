// Package gdprtest helps test code built on the root contracts of package
// gdpr: a recording [Recorder] for a host's unit tests, and conformance
// suites for the two contracts a host implements most often, [gdpr.Eraser]
// (the right to erasure, Art. 17) and [gdpr.Exporter] (the rights of
// access and to data portability, Art. 15 and Art. 20).
//
// It imports only package gdpr and the standard library, so it adds
// nothing to a host's module graph, and every package of this module can
// use it in its own tests.
//
// # Recorder
//
// [Recorder] keeps every gdpr.Event in memory, in order, and reads them
// back ([Recorder.Events], [Recorder.ByAction], [Recorder.Actions],
// [Recorder.Last]), finds events that carry a planted value outside their
// Subject ([Recorder.Leaks]), and can be made to fail
// ([Recorder.FailWith]) to test what a caller does when the audit trail
// refuses an event. It keeps subject IDs in clear, which a real Recorder
// must not: it is a fake for tests only.
//
// # Conformance suites
//
// [RunEraserTests] and [RunExporterTests] check a component against the
// contract its interface states, in the manner of testing/fstest.TestFS,
// testing/slogtest.Run and the drivertest packages of gocloud.dev: one
// subtest per behaviour, a fresh component for each, and failure messages
// that quote the contract broken. The suite cannot know how to put data
// into a component, nor, for an Eraser, how to see whether it is gone, so
// the caller supplies a small harness: an [EraserFixture] or an
// [ExporterFixture] with the component, a Seed function that stores a
// subject's data (planting a canary value the suite then looks for where
// personal data must not be), and for an Eraser a Present function, or
// none when the Eraser is also an Exporter.
//
// The suite picks random subject IDs, so it can run against a database
// that other tests share. Its checks include subject IDs that a careless
// store conflates (one a prefix of another, one differing only in case or
// by a trailing space: a LIKE query, a case-insensitive or PAD SPACE
// collation), invalid IDs, a cancelled context, and concurrent calls;
// run it with -race.
//
// [TestEraser] and [TestExporter] run the same checks without a
// *testing.T and return the failures as one error, as fstest.TestFS and
// slogtest.TestHandler do: for Examples and for tools.
//
// # Testing
//
// A host's store that holds customer rows, say, proves that the erasure
// workflow and the export builder can rely on it:
//
//	func TestCustomersConformance(t *testing.T) {
//		newStore := func(t *testing.T) *customers.Store {
//			s := customers.New(testDB(t))
//			return s
//		}
//		seed := func(s *customers.Store) func(context.Context, gdpr.SubjectID, string) error {
//			return func(ctx context.Context, id gdpr.SubjectID, canary string) error {
//				return s.Insert(ctx, customers.Customer{ID: string(id), Name: canary})
//			}
//		}
//		gdprtest.RunEraserTests(t, func(t *testing.T) gdprtest.EraserFixture {
//			s := newStore(t)
//			// No Present: the store is also a gdpr.Exporter, and the
//			// suite watches its export.
//			return gdprtest.EraserFixture{Eraser: s, Seed: seed(s)}
//		})
//		gdprtest.RunExporterTests(t, func(t *testing.T) gdprtest.ExporterFixture {
//			s := newStore(t)
//			return gdprtest.ExporterFixture{Exporter: s, Seed: seed(s)}
//		})
//	}
//
// and a unit test of code that must audit what it does:
//
//	rec := new(gdprtest.Recorder)
//	svc := billing.New(db, billing.WithRecorder(rec))
//	// ... exercise svc ...
//	if got := rec.ByAction("billing.invoice_viewed"); len(got) != 1 || got[0].Subject != "cust-42" {
//		t.Errorf("invoice view audited as %v", rec.Actions())
//	}
//	if leaked := rec.Leaks("cust-42", "jane@example.com"); len(leaked) > 0 {
//		t.Errorf("audit events carry personal data outside Subject: %v", leaked)
//	}
//
// The package's own tests run both suites on deliberately broken
// components (an eraser that is not idempotent, exporters that ignore the
// writer's error, leak a subject ID in an error, or change their order)
// and check that each fails where it should.
package gdprtest
