package uapi

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/warren-vpn/warren/internal/wgtypes"
)

// Get sends a get=1 request on rw and returns the device's state. A non-zero
// errno is returned as *Error.
func Get(rw io.ReadWriter) (*wgtypes.Device, error) {
	if _, err := io.WriteString(rw, "get=1\n\n"); err != nil {
		return nil, fmt.Errorf("uapi: send get request: %w", err)
	}
	dev, sawErrno, err := parseGet(newLineReader(bufio.NewReader(rw)))
	if err != nil {
		return nil, err
	}
	if !sawErrno {
		return nil, errorf(errnoProtocol, "get answer ended without errno: %w", io.ErrUnexpectedEOF)
	}
	return dev, nil
}

// Set sends cfg as a set=1 request on rw and waits for the answer. A
// non-zero errno is returned as *Error: errors.Is(err, ErrInvalid), or
// errors.Is(err, wgtypes.ErrPortInUse), and so on.
func Set(rw io.ReadWriter, cfg *wgtypes.Config) error {
	var b bytes.Buffer
	defer func() { clear(b.Bytes()) }() // the request may hold a private key
	b.WriteString("set=1\n")
	if err := WriteSet(&b, cfg); err != nil {
		return err
	}
	if _, err := rw.Write(b.Bytes()); err != nil {
		return fmt.Errorf("uapi: send set request: %w", err)
	}
	lr := newLineReader(bufio.NewReader(rw))
	line, err := lr.next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return errorf(errnoProtocol, "read set answer: %w", err)
	}
	value, ok := strings.CutPrefix(line, "errno=")
	n, perr := strconv.ParseInt(value, 10, 64)
	if !ok || perr != nil || n == -n && n != 0 {
		return errorf(errnoProtocol, "set answer %q is not errno=N", clip(line))
	}
	if end, err := lr.next(); err == nil && end != "" {
		return errorf(errnoProtocol, "set answer: %q after errno", clip(end))
	}
	if n != 0 {
		return &Error{Errno: abs(n)}
	}
	return nil
}
