package safehttp

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
)

// capReader passes at most limit bytes from r and fails with ErrTooLarge as
// soon as the source proves to hold more, so an endless or oversized body
// costs crieur at most limit bytes of memory.
type capReader struct {
	r     io.Reader
	left  int64
	limit int64
	err   error // sticky ErrTooLarge
}

func newCapReader(r io.Reader, limit int64) *capReader {
	return &capReader{r: r, left: limit, limit: limit}
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if c.left <= 0 {
		// The cap is reached: one more byte tells a body of exactly limit
		// bytes (EOF) from an oversized one.
		var probe [1]byte
		n, err := c.r.Read(probe[:])
		if n > 0 {
			c.err = fmt.Errorf("%w: more than %d bytes", ErrTooLarge, c.limit)
			return 0, c.err
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// gunzipReader inflates lazily: gzip.NewReader reads the header, which must
// not happen inside Do (it would block on the peer before the caller even
// looked at the status).
type gunzipReader struct {
	src io.Reader
	zr  *gzip.Reader
	err error
}

func (g *gunzipReader) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if g.zr == nil {
		zr, err := gzip.NewReader(g.src)
		if err != nil {
			g.err = fmt.Errorf("gunzip response: %w", err)
			return 0, g.err
		}
		g.zr = zr
	}
	return g.zr.Read(p)
}

// deadlineBody releases the per-request deadline when the caller closes the
// body, and names the deadline in read errors so a slow-drip peer is
// reported as a timeout (errors.Is(err, context.DeadlineExceeded)) rather
// than as an obscure closed-connection error.
type deadlineBody struct {
	r      io.Reader
	c      io.Closer
	ctx    context.Context
	cancel context.CancelFunc
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		if cerr := b.ctx.Err(); cerr != nil && !isCtxErr(err) {
			err = fmt.Errorf("read response body: %w (%w)", cerr, err)
		}
	}
	return n, err
}

func (b *deadlineBody) Close() error {
	err := b.c.Close()
	b.cancel()
	return err
}

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
