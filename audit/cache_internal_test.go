package audit

import (
	"fmt"
	"testing"
	"time"
)

func TestCacheBound(t *testing.T) {
	p := newPseudonymizer(nil, make([]byte, 32), 4, time.Minute)
	now := time.Now()
	for i := range 1000 {
		p.put(cacheKey{"subject", fmt.Sprint(i)}, Pseudonym{}, now, 0)
	}
	if len(p.cache) > 4 {
		t.Errorf("cache of size 4 holds %d pseudonyms", len(p.cache))
	}
}
