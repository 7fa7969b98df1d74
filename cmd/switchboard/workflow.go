package main

import (
	"context"
	"errors"
	"io"
)

func workflowCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("workflow commands are not built yet")
}
