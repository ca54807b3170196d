// immudb peer harness for scripts/bench.sh: writes the same 1 KiB payloads
// as perf/src/bin/durable.rs (byte j of payload i = (i*31 + j*7) % 251) through
// immudb's embedded store (github.com/codenotary/immudb/embedded/store),
// 1000 entries per transaction (one key per record), each transaction
// committed before the next, store in a fresh temp dir, with the store's
// default options: Synced=true (Commit returns once the transaction is
// fsynced; a background syncer groups commits, waiting up to
// SyncFrequency = 20 ms for more) and MaxTxEntries = 1024.
// Prints one JSON line: {"peer":"immudb",...,"records_per_s":...}.
//
// Usage: go run . [-blocks N] [-runs R]
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/codenotary/immudb/embedded/store"
)

const (
	record = 1024
	block  = 1000
)

func payloads() [][]byte {
	out := make([][]byte, block)
	for i := range out {
		p := make([]byte, record)
		for j := range p {
			p[j] = byte((i*31 + j*7) % 251)
		}
		out[i] = p
	}
	return out
}

func run(blocks int, data [][]byte) (float64, error) {
	base := os.Getenv("MEDLEDGER_BENCH_DIR")
	if base == "" {
		base = os.TempDir()
	}
	dir, err := os.MkdirTemp(base, "medledger-peer-immudb-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(dir, store.DefaultOptions().WithLogger(quiet{}))
	if err != nil {
		return 0, err
	}
	ctx := context.Background()
	key := make([]byte, 8)
	t := time.Now()
	for b := 0; b < blocks; b++ {
		tx, err := st.NewWriteOnlyTx(ctx)
		if err != nil {
			return 0, err
		}
		for i, p := range data {
			binary.BigEndian.PutUint64(key, uint64(b*block+i))
			if err := tx.Set(append([]byte(nil), key...), nil, p); err != nil {
				return 0, err
			}
		}
		if _, err := tx.Commit(ctx); err != nil {
			return 0, err
		}
	}
	secs := time.Since(t).Seconds()
	if err := st.Close(); err != nil {
		return 0, err
	}
	return float64(blocks*block) / secs, nil
}

// quiet drops the store's informational log lines.
type quiet struct{}

func (quiet) Errorf(string, ...interface{})   {}
func (quiet) Warningf(string, ...interface{}) {}
func (quiet) Infof(string, ...interface{})    {}
func (quiet) Debugf(string, ...interface{})   {}
func (quiet) Close() error                    { return nil }

func main() {
	blocks := flag.Int("blocks", 30, "transactions of 1000 records per run")
	runs := flag.Int("runs", 3, "runs (the median is printed)")
	flag.Parse()
	data := payloads()
	var rates []float64
	for r := 0; r < *runs; r++ {
		rate, err := run(*blocks, data)
		if err != nil {
			fmt.Fprintln(os.Stderr, "immudb:", err)
			os.Exit(1)
		}
		rates = append(rates, rate)
	}
	sort.Float64s(rates)
	out, _ := json.Marshal(map[string]interface{}{
		"peer":          "immudb",
		"version":       "v1.9.5 embedded/store",
		"records_per_s": int64(rates[len(rates)/2]),
		"runs":          *runs,
		"blocks":        *blocks,
		"block":         block,
		"record_bytes":  record,
		"durability":    "embedded store defaults: Synced=true (fsync before Commit returns), SyncFrequency 20ms",
	})
	fmt.Println(string(out))
}
