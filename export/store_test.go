package export

import "testing"

func TestPageSize(t *testing.T) {
	for in, want := range map[int]int{-1: 100, 0: 100, 1: 1, 100: 100, 1000: 1000, 1001: 1000, 1 << 30: 1000} {
		if got := PageSize(in); got != want {
			t.Errorf("PageSize(%d) = %d; want %d", in, got, want)
		}
	}
}

func TestValidBlobName(t *testing.T) {
	for name, want := range map[string]bool{
		"0190-1": true, "a": true, "": false, "A": false, "a_b": false, "a/b": false, "..": false, "a.b": false,
		string(make([]byte, 129)): false,
	} {
		if got := ValidBlobName(name); got != want {
			t.Errorf("ValidBlobName(%q) = %v; want %v", name, got, want)
		}
	}
	long := make([]byte, 128)
	for i := range long {
		long[i] = 'a'
	}
	if !ValidBlobName(string(long)) || ValidBlobName(string(long)+"a") {
		t.Error("the 128-byte bound")
	}
}
