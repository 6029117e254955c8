package main

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// maxLogLine is where an endless line (a progress bar without newlines) gets cut for display.
const maxLogLine = 4096

// errorTailBytes bounds how much of a failed command's output goes into the error message.
const errorTailBytes = 16 * 1024

// capture collects a command's stdout and stderr while it runs and forwards each complete line
// of the streams chosen by `logging` to a callback, so the user sees progress live. Secrets are
// scrubbed from what is forwarded (and from the error tail) but never from the captured outputs.
type capture struct {
	mu       sync.Mutex
	stdout   bytes.Buffer
	stderr   bytes.Buffer
	combined bytes.Buffer
	pending  [2][]byte
	logMode  string
	secrets  []string
	onLine   func(line string)
}

func newCapture(logMode string, secrets []string, onLine func(string)) *capture {
	return &capture{logMode: logMode, secrets: secrets, onLine: onLine}
}

// Stdout is the writer for the command's standard output.
func (c *capture) Stdout() io.Writer { return streamWriter{c, false} }

// Stderr is the writer for the command's standard error.
func (c *capture) Stderr() io.Writer { return streamWriter{c, true} }

type streamWriter struct {
	c      *capture
	stderr bool
}

func (w streamWriter) Write(p []byte) (int, error) {
	w.c.write(w.stderr, p)
	return len(p), nil
}

func (c *capture) write(stderr bool, p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if stderr {
		c.stderr.Write(p)
	} else {
		c.stdout.Write(p)
	}
	c.combined.Write(p)
	if !shouldLog(c.logMode, stderr) || c.onLine == nil {
		return
	}
	idx := 0
	if stderr {
		idx = 1
	}
	buf := append(c.pending[idx], p...)
	for {
		nl := bytes.IndexByte(buf, '\n')
		if nl < 0 {
			break
		}
		c.emit(buf[:nl])
		buf = buf[nl+1:]
	}
	for len(buf) >= maxLogLine {
		c.emit(buf[:maxLogLine])
		buf = buf[maxLogLine:]
	}
	c.pending[idx] = append([]byte(nil), buf...)
}

func (c *capture) emit(line []byte) {
	text := strings.TrimRight(string(line), "\r")
	if text == "" {
		return
	}
	c.onLine(redact(text, c.secrets))
}

// flush forwards unterminated last lines; call it once the command has finished.
func (c *capture) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.pending {
		if len(c.pending[i]) > 0 {
			c.emit(c.pending[i])
			c.pending[i] = nil
		}
	}
}

// outputs returns stdout and stderr as the real provider stores them: one trailing newline cut.
func (c *capture) outputs() (stdout, stderr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.TrimSuffix(c.stdout.String(), "\n"), strings.TrimSuffix(c.stderr.String(), "\n")
}

// errorTail is the end of the interleaved output, scrubbed of secrets, for error messages.
func (c *capture) errorTail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.combined.Bytes()
	prefix := ""
	if len(out) > errorTailBytes {
		out = out[len(out)-errorTailBytes:]
		prefix = "[... earlier output cut ...]\n"
	}
	return prefix + redact(string(out), c.secrets)
}

// redact replaces every occurrence of each secret with "[secret]".
func redact(s string, secrets []string) string {
	for _, secret := range secrets {
		s = strings.ReplaceAll(s, secret, "[secret]")
	}
	return s
}
