package network

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
)

func TestIdentityRoundTrip(t *testing.T) {
	key, err := GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	if key.Type() != crypto.Ed25519 {
		t.Fatalf("key type %v", key.Type())
	}
	path := filepath.Join(t.TempDir(), "node.key")
	if err := SaveIdentity(path, key); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	loaded, err := LoadIdentity(path)
	if err != nil {
		t.Fatal(err)
	}
	if !key.Equals(loaded) {
		t.Fatal("loaded key differs")
	}
	id1, err := PeerIDFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := PeerIDFromKey(loaded)
	if id1 != id2 || !strings.HasPrefix(id1.String(), "12D3KooW") {
		t.Fatalf("peer IDs %s, %s", id1, id2)
	}

	other, _ := GenerateIdentity()
	if err := SaveIdentity(path, other); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("overwrite: %v", err)
	}
	if again, err := LoadIdentity(path); err != nil || !again.Equals(key) {
		t.Fatal("the existing key was changed")
	}
}

func TestLoadIdentityRejectsLoosePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	key, _ := GenerateIdentity()
	path := filepath.Join(t.TempDir(), "node.key")
	if err := SaveIdentity(path, key); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadIdentity(path)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("got %v, want advice to chmod 600", err)
	}
}

func TestLoadIdentityRejectsGarbage(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"garbage": []byte("not a key"),
		"huge":    make([]byte, maxIdentityFile+1),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadIdentity(path); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	if _, err := LoadIdentity(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file loaded")
	}
	if _, err := LoadIdentity(dir); err == nil {
		t.Error("directory loaded")
	}
	if err := SaveIdentity(filepath.Join(dir, "nil"), nil); err == nil {
		t.Error("saved a nil key")
	}
}
