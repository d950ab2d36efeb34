package kit_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr/kit"
)

// secretForms returns the ways a secret could show in printed text: its
// bytes, hex (both cases), base64 (both alphabets) and Go's decimal
// rendering of a byte slice, each whole and for its first 8 bytes.
func secretForms(secret []byte) []string {
	var out []string
	for _, b := range [][]byte{secret, secret[:min(8, len(secret))]} {
		dec := make([]string, len(b))
		for i, c := range b {
			dec[i] = fmt.Sprint(c)
		}
		out = append(out, string(b), hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)),
			"["+strings.Join(dec, " "), strings.Join(dec, ", "))
		// base64, up to the last whole group of three bytes: the part
		// that does not depend on padding or on what follows.
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			out = append(out, enc.EncodeToString(b)[:len(b)/3*4])
		}
	}
	return out
}

// fileSecrets returns the KEK's and the audit signer's key material from
// the development key file at path: the AES key inside the KEK's Tink
// keyset, and the signer's key as sumdb/note writes it.
func fileSecrets(t *testing.T, path string) map[string][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		KEK struct {
			Key []struct {
				KeyData struct {
					Value string `json:"value"`
				} `json:"keyData"`
			} `json:"key"`
		} `json:"kek_keyset"`
		AuditSignerKey string `json:"audit_signer_key"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.KEK.Key) != 1 {
		t.Fatalf("the key file's KEK has %d keys", len(f.KEK.Key))
	}
	v, err := base64.StdEncoding.DecodeString(f.KEK.Key[0].KeyData.Value)
	if err != nil || len(v) < 34 || !bytes.Equal(v[len(v)-34:len(v)-32], []byte{0x1a, 0x20}) {
		t.Fatalf("the KEK's key data is not an AesGcmKey ending in its 32-byte key (%v)", err)
	}
	parts := strings.SplitN(f.AuditSignerKey, "+", 5) // the key, base64, may hold a "+"
	if len(parts) != 5 || parts[0] != "PRIVATE" {
		t.Fatalf("the audit signer key is not a note private key")
	}
	return map[string][]byte{
		"KEK key":         v[len(v)-32:],
		"KEK key data":    []byte(f.KEK.Key[0].KeyData.Value),
		"audit signer":    []byte(parts[4]),
		"audit signer id": []byte(f.AuditSignerKey),
	}
}

// TestKeysPrintNoSecret prints a kit.Keys made from a development key set
// under every fmt verb, as a value, through a pointer and inside a struct,
// a slice and a map, in an error, through slog's text and JSON handlers
// and encoding/json (a host that logs its config as JSON): the
// output never holds any form of any secret (the KEK's key, the audit
// signer's key, the pseudonym, subject, receipt and unsubscribe keys).
func TestKeysPrintNoSecret(t *testing.T) {
	keys, path := devKeys(t)
	secrets := fileSecrets(t, path)
	secrets["PseudonymKey"] = keys.PseudonymKey
	secrets["SubjectKey"] = keys.SubjectKey
	secrets["ReceiptKey seed"] = keys.ReceiptKey.Seed()
	for i, u := range keys.UnsubscribeSecrets {
		secrets[fmt.Sprintf("UnsubscribeSecrets[%d]", i)] = u
	}

	type holder struct{ Keys kit.Keys }
	values := map[string]any{"value": keys, "pointer": &keys, "struct": holder{keys}, "struct pointer": &holder{keys},
		"slice": []kit.Keys{keys}, "map": map[string]kit.Keys{"k": keys}}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o", "%b", "%e", "%T", "%10.3v", "%-#x"}
	var outputs []string
	for name, v := range values {
		for _, verb := range verbs {
			outputs = append(outputs, name+" "+verb+": "+fmt.Sprintf(verb, v))
		}
		outputs = append(outputs, name+" Sprint: "+fmt.Sprint(v), name+" Sprintln: "+fmt.Sprintln(v),
			name+" error: "+fmt.Errorf("bad keys %v", v).Error())
	}
	outputs = append(outputs, "all four: "+fmt.Sprintf("%v %+v %#v %s", keys, keys, keys, keys))
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("keys", "keys", keys, "pointer", &keys)
	outputs = append(outputs, "slog text: "+logged.String())
	logged.Reset()
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("keys", "keys", keys, "holder", holder{keys})
	outputs = append(outputs, "slog JSON: "+logged.String())
	for name, v := range values {
		b, err := json.Marshal(v)
		if err != nil {
			t.Errorf("json.Marshal(%s): %v", name, err)
		}
		outputs = append(outputs, name+" JSON: "+string(b))
	}

	for _, out := range outputs {
		for name, secret := range secrets {
			for _, form := range secretForms(secret) {
				if strings.Contains(out, form) {
					t.Errorf("%s shows the %s (as %q)", out[:strings.Index(out, ":")], name, form)
				}
			}
		}
	}
	if got := fmt.Sprintf("%v", keys); !strings.Contains(got, "kit.Keys") {
		t.Errorf("Keys print as %q, which does not say what they are", got)
	}
	// The check sees a secret where there is one.
	leak := fmt.Sprintf("%v %x", keys.PseudonymKey, keys.SubjectKey)
	for name, form := range map[string][]string{"PseudonymKey": secretForms(keys.PseudonymKey), "SubjectKey": secretForms(keys.SubjectKey)} {
		found := false
		for _, f := range form {
			found = found || strings.Contains(leak, f)
		}
		if !found {
			t.Errorf("the check does not see the %s printed in clear: it is blind", name)
		}
	}
}
