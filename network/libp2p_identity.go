package network

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// maxIdentityFile bounds how much LoadIdentity reads: a marshalled Ed25519 key is
// 68 bytes.
const maxIdentityFile = 4 << 10

// GenerateIdentity returns a new Ed25519 node key drawn from crypto/rand.
func GenerateIdentity() (crypto.PrivKey, error) {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate identity: %w", err)
	}
	return key, nil
}

// PeerIDFromKey returns the libp2p peer ID of a node key.
func PeerIDFromKey(key crypto.PrivKey) (peer.ID, error) {
	if key == nil {
		return "", errors.New("peer ID: nil key")
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("peer ID: %w", err)
	}
	return id, nil
}

// SaveIdentity writes key (libp2p protobuf encoding) to a new file at path with
// mode 0600. It refuses to overwrite an existing file: a node's identity is its
// peer ID in every deployment that lists it.
func SaveIdentity(path string, key crypto.PrivKey) (err error) {
	if key == nil {
		return errors.New("save identity: nil key")
	}
	data, err := crypto.MarshalPrivateKey(key)
	if err != nil {
		return fmt.Errorf("save identity: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("save identity: %s already exists; refusing to overwrite a node key", path)
		}
		return fmt.Errorf("save identity: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("save identity: %w", cerr)
		}
		if err != nil {
			_ = os.Remove(path)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("save identity: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("save identity: %w", err)
	}
	return nil
}

// LoadIdentity reads a node key written by SaveIdentity. It fails if the file is
// readable or writable by group or others (chmod 600 it), or if the key is not
// Ed25519.
func LoadIdentity(path string) (crypto.PrivKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load identity: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("load identity: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("load identity: %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("load identity: %s has mode %04o, so group or others can access the node key; run chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxIdentityFile+1))
	if err != nil {
		return nil, fmt.Errorf("load identity: %w", err)
	}
	if len(data) > maxIdentityFile {
		return nil, fmt.Errorf("load identity: %s is larger than %d bytes; not a node key", path, maxIdentityFile)
	}
	key, err := crypto.UnmarshalPrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("load identity %s: %w", path, err)
	}
	if key.Type() != crypto.Ed25519 {
		return nil, fmt.Errorf("load identity %s: key type %v, want Ed25519", path, key.Type())
	}
	return key, nil
}
