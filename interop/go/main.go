// Command interop verifies medledger checkpoints and Merkle proofs with
// independent Go code: golang.org/x/mod/sumdb/note for the signed note,
// transparency-dev/formats/log for the checkpoint text, and
// transparency-dev/merkle (RFC 6962 hasher over SHA3-256) for the proofs.
//
// Usage:
//
//	interop verify <export.json> [tamper]   verify what export_checkpoint wrote;
//	                                        with tamper, change one thing first
//	                                        and succeed only if it is rejected
//	interop vkey <name> <seed hex>          print the Go vkey of an Ed25519 seed
//	interop cosigner-vkey <name> <seed hex> the same as a cosignature/v1 vkey
//	interop sign <name> <seed hex>          sign stdin (a note text) with the seed
package main

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	_ "golang.org/x/crypto/sha3" // registers crypto.SHA3_256
	"golang.org/x/mod/sumdb/note"
)

type leaf struct {
	Index uint64   `json:"index"`
	Data  []byte   `json:"data"`
	Proof [][]byte `json:"proof"`
}

type consistency struct {
	Size1 uint64   `json:"size1"`
	Root1 []byte   `json:"root1"`
	Proof [][]byte `json:"proof"`
}

type export struct {
	Origin      string        `json:"origin"`
	VKey        string        `json:"vkey"`
	WitnessVKey string        `json:"witness_vkey"`
	WitnessTime int64         `json:"witness_time"`
	OldNote     string        `json:"old_note"`
	Note        string        `json:"note"`
	Leaves      []leaf        `json:"leaves"`
	Consistency []consistency `json:"consistency"`
}

var hasher = rfc6962.New(crypto.SHA3_256)

func verify(e *export) (string, error) {
	v, err := note.NewVerifier(e.VKey)
	if err != nil {
		return "", fmt.Errorf("vkey: %w", err)
	}
	wv, err := fnote.NewVerifierForCosignatureV1(e.WitnessVKey)
	if err != nil {
		return "", fmt.Errorf("witness vkey: %w", err)
	}
	cp, _, n, err := log.ParseCheckpoint([]byte(e.Note), e.Origin, v, wv)
	if err != nil {
		return "", fmt.Errorf("note: %w", err)
	}
	cosigned := false
	for _, s := range n.Sigs {
		if s.Name == wv.Name() && s.Hash == wv.KeyHash() {
			t, err := fnote.CoSigV1Timestamp(s)
			if err != nil || t.Unix() != e.WitnessTime {
				return "", fmt.Errorf("cosignature time %v, want %d", t, e.WitnessTime)
			}
			cosigned = true
		}
	}
	if !cosigned {
		return "", errors.New("note: no witness cosignature")
	}
	old, _, _, err := log.ParseCheckpoint([]byte(e.OldNote), e.Origin, v)
	if err != nil {
		return "", fmt.Errorf("old note: %w", err)
	}
	if uint64(len(e.Leaves)) != cp.Size {
		return "", fmt.Errorf("%d leaves for a checkpoint of size %d", len(e.Leaves), cp.Size)
	}
	// The root, recomputed from the transactions alone.
	rf := compact.RangeFactory{Hash: hasher.HashChildren}
	r := rf.NewEmptyRange(0)
	for i, l := range e.Leaves {
		if l.Index != uint64(i) {
			return "", fmt.Errorf("leaf %d out of order", i)
		}
		h := hasher.HashLeaf(l.Data)
		if err := r.Append(h, nil); err != nil {
			return "", err
		}
		if err := proof.VerifyInclusion(hasher, l.Index, cp.Size, h, l.Proof, cp.Hash); err != nil {
			return "", fmt.Errorf("inclusion of leaf %d: %w", l.Index, err)
		}
	}
	root, err := r.GetRootHash(nil)
	if err != nil {
		return "", err
	}
	if !equal(root, cp.Hash) {
		return "", errors.New("root recomputed from the leaves differs from the checkpoint")
	}
	if len(e.Consistency) == 0 {
		return "", errors.New("no consistency proofs")
	}
	sawOld := false
	for _, c := range e.Consistency {
		if err := proof.VerifyConsistency(hasher, c.Size1, cp.Size, c.Proof, c.Root1, cp.Hash); err != nil {
			return "", fmt.Errorf("consistency %d -> %d: %w", c.Size1, cp.Size, err)
		}
		if c.Size1 == old.Size {
			if !equal(c.Root1, old.Hash) {
				return "", errors.New("old checkpoint root differs from its consistency proof")
			}
			sawOld = true
		}
	}
	if !sawOld {
		return "", errors.New("no consistency proof from the old checkpoint")
	}
	return fmt.Sprintf("ok: %s signed by %s, cosigned by %s; %d inclusion and %d consistency proofs; %d -> %d consistent",
		cp.Origin, v.Name(), wv.Name(), len(e.Leaves), len(e.Consistency), old.Size, cp.Size), nil
}

func equal(a, b []byte) bool { return string(a) == string(b) }

// flip changes one bit of b at i (b must be non-empty).
func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i%len(c)] ^= 1
	return c
}

// tamper changes one thing; verify must then fail.
func tamper(e *export, what string) error {
	switch what {
	case "note-size": // claim one more leaf, keep the signature
		lines := strings.SplitN(e.Note, "\n", 3)
		e.Note = lines[0] + "\n" + lines[1] + "0\n" + lines[2]
	case "note-root":
		i := strings.Index(e.Note, "\n") + 1
		i += strings.Index(e.Note[i:], "\n") + 1
		e.Note = e.Note[:i] + string(rune(e.Note[i]^1)) + e.Note[i+1:]
	case "note-sig": // one character of the log's own signature line
		start := strings.LastIndex(e.Note, "\n\n") + 2
		end := start + strings.Index(e.Note[start:], "\n")
		i := start + strings.LastIndex(e.Note[start:end], " ") + 10
		c := byte('A')
		if e.Note[i] == 'A' {
			c = 'B'
		}
		e.Note = e.Note[:i] + string(c) + e.Note[i+1:]
	case "note-origin":
		e.Note = strings.Replace(e.Note, e.Origin, e.Origin+"x", 1)
	case "cosig": // one character of the witness's line
		i := len(e.Note) - 20
		c := byte('A')
		if e.Note[i] == 'A' {
			c = 'B'
		}
		e.Note = e.Note[:i] + string(c) + e.Note[i+1:]
	case "cosig-time": // the timestamp is signed
		lines := strings.Split(strings.TrimSuffix(e.Note, "\n"), "\n")
		last := lines[len(lines)-1]
		sp := strings.LastIndex(last, " ")
		blob, err := base64.StdEncoding.DecodeString(last[sp+1:])
		if err != nil {
			return err
		}
		blob[11] ^= 1
		lines[len(lines)-1] = last[:sp+1] + base64.StdEncoding.EncodeToString(blob)
		e.Note = strings.Join(lines, "\n") + "\n"
	case "wrong-key":
		_, vkey, err := note.GenerateKey(rand.Reader, e.Origin)
		if err != nil {
			return err
		}
		e.VKey = vkey
	case "leaf":
		e.Leaves[3].Data = flip(e.Leaves[3].Data, 40)
	case "inclusion":
		e.Leaves[5].Proof[1] = flip(e.Leaves[5].Proof[1], 7)
	case "consistency":
		last := len(e.Consistency) / 2
		e.Consistency[last].Proof[0] = flip(e.Consistency[last].Proof[0], 3)
	case "old-root":
		e.Consistency[0].Root1 = flip(e.Consistency[0].Root1, 0)
	default:
		return fmt.Errorf("unknown tamper %q", what)
	}
	return nil
}

func seedKey(name, seedHex string) (note.Signer, string, error) {
	seed, err := hex.DecodeString(seedHex)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, "", errors.New("seed must be 64 hex digits")
	}
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return nil, "", err
	}
	hash := strings.Split(vkey, "+")[1]
	skey := "PRIVATE+KEY+" + name + "+" + hash + "+" +
		base64.StdEncoding.EncodeToString(append([]byte{1}, seed...))
	s, err := note.NewSigner(skey)
	return s, vkey, err
}

func run(args []string) error {
	if len(args) < 1 {
		return errors.New("usage: interop verify <export.json> [tamper] | vkey <name> <seed hex> | sign <name> <seed hex>")
	}
	switch {
	case args[0] == "verify" && (len(args) == 2 || len(args) == 3):
		raw, err := os.ReadFile(args[1])
		if err != nil {
			return err
		}
		var e export
		if err := json.Unmarshal(raw, &e); err != nil {
			return err
		}
		if len(args) == 2 {
			msg, err := verify(&e)
			if err != nil {
				return err
			}
			fmt.Println(msg)
			return nil
		}
		if err := tamper(&e, args[2]); err != nil {
			return err
		}
		if _, err := verify(&e); err == nil {
			return fmt.Errorf("tampered (%s) input was ACCEPTED", args[2])
		} else {
			fmt.Printf("rejected as expected (%s): %v\n", args[2], err)
		}
		return nil
	case args[0] == "vkey" && len(args) == 3:
		_, vkey, err := seedKey(args[1], args[2])
		if err != nil {
			return err
		}
		fmt.Println(vkey)
		return nil
	case args[0] == "cosigner-vkey" && len(args) == 3:
		_, vkey, err := seedKey(args[1], args[2])
		if err != nil {
			return err
		}
		cvkey, err := fnote.VKeyToCosignatureV1(vkey)
		if err != nil {
			return err
		}
		fmt.Println(cvkey)
		return nil
	case args[0] == "sign" && len(args) == 3:
		s, _, err := seedKey(args[1], args[2])
		if err != nil {
			return err
		}
		text, err := io.ReadAll(os.Stdin)
		if err != nil {
			return err
		}
		msg, err := note.Sign(&note.Note{Text: string(text)}, s)
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(msg)
		return err
	}
	return errors.New("bad arguments")
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		os.Exit(1)
	}
}
