package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// RawValueSize is the value size RawWriteRate writes, about one routed
// conversation's JSON.
const RawValueSize = 300

// RawWriteRate measures the raw write rate of the embedded database: n bbolt
// read-write transactions, each putting one RawValueSize-byte value under a
// new key, with bbolt's default options (fsync on every commit), and no
// store logic. It creates the file at path (which must not exist) and removes it
// afterwards. Use a path on the same file system as the store so the lead's
// bench report can print this rate beside the engine's.
func RawWriteRate(path string, n int) (perSecond float64, err error) {
	return rawWriteRate(path, n, false)
}

// RawWriteRateWithoutSync is RawWriteRate with bbolt's NoSync: the rate of
// the database's own work without waiting for the disk (not durable).
func RawWriteRateWithoutSync(path string, n int) (perSecond float64, err error) {
	return rawWriteRate(path, n, true)
}

func rawWriteRate(path string, n int, noSync bool) (perSecond float64, err error) {
	if n <= 0 {
		return 0, errors.New("bolt raw write rate: n must be positive")
	}
	if _, err := os.Stat(path); err == nil {
		return 0, fmt.Errorf("bolt raw write rate: %s exists; give a fresh path", path)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, NoSync: noSync}) // otherwise bbolt's defaults
	if err != nil {
		return 0, fmt.Errorf("bolt raw write rate: %w", err)
	}
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = cerr
		}
		os.Remove(path)
	}()
	bucket := []byte("raw")
	if err := db.Update(func(tx *bbolt.Tx) error { _, err := tx.CreateBucket(bucket); return err }); err != nil {
		return 0, err
	}
	value := make([]byte, RawValueSize)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	start := time.Now()
	for i := range n {
		err := db.Update(func(tx *bbolt.Tx) error {
			return tx.Bucket(bucket).Put(binary.BigEndian.AppendUint64(nil, uint64(i)), value)
		})
		if err != nil {
			return 0, fmt.Errorf("bolt raw write rate: %w", err)
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
