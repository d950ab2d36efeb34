package clock_test

import (
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/internal/clock"
)

func TestSystem(t *testing.T) {
	before := time.Now()
	got := clock.System.Now()
	if got.Before(before) || got.After(time.Now()) {
		t.Fatalf("System.Now() = %v, want between %v and now", got, before)
	}
}

func TestFake(t *testing.T) {
	start := time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC)
	f := clock.NewFake(start)
	if got := f.Now(); !got.Equal(start) {
		t.Fatalf("Now() = %v, want %v", got, start)
	}
	if got := f.Now(); !got.Equal(start) {
		t.Fatalf("Fake moved without Add or Set: %v", got)
	}
	if got := f.Add(time.Hour); !got.Equal(start.Add(time.Hour)) {
		t.Fatalf("Add returned %v, want %v", got, start.Add(time.Hour))
	}
	if got := f.Now(); !got.Equal(start.Add(time.Hour)) {
		t.Fatalf("Now() after Add = %v", got)
	}
	f.Add(-2 * time.Hour)
	if got := f.Now(); !got.Equal(start.Add(-time.Hour)) {
		t.Fatalf("Now() after negative Add = %v", got)
	}
	later := start.AddDate(0, 1, 0)
	f.Set(later)
	if got := f.Now(); !got.Equal(later) {
		t.Fatalf("Now() after Set = %v, want %v", got, later)
	}
}

func TestFakeConcurrent(t *testing.T) {
	start := time.Unix(0, 0)
	f := clock.NewFake(start)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				f.Add(time.Second)
				_ = f.Now()
			}
		}()
	}
	wg.Wait()
	if got, want := f.Now(), start.Add(800*time.Second); !got.Equal(want) {
		t.Fatalf("after 800 concurrent Add(1s): %v, want %v", got, want)
	}
}
