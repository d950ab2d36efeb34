package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gdprkit/gdpr"
)

func (a *app) registerCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "register",
		Short: "The record of processing activities (Art. 30)",
	}
	validate := &cobra.Command{
		Use:     "validate FILE",
		Short:   "Check a record of processing activities (the JSON of gdpr.Register) against Art. 30(1)",
		Example: `  gdpr register validate register.json && echo valid`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return usageErr("cannot read the register file")
			}
			defer f.Close()
			reg, err := gdpr.ParseRegister(f)
			if err == nil {
				err = reg.Validate()
			}
			if a.json {
				out := map[string]any{"valid": err == nil}
				if err != nil {
					out["error"] = err.Error()
				} else {
					out["activities"] = len(reg.Activities)
				}
				if werr := a.writeJSON(out); werr != nil {
					return werr
				}
			}
			if err != nil {
				if errors.Is(err, gdpr.ErrInvalid) {
					return problem("the register is not valid: %v", err)
				}
				return problem("the register does not parse: %v", err)
			}
			if !a.json {
				fmt.Fprintf(a.out, "register valid: %d processing activities of %s\n", len(reg.Activities), reg.Controller.Name)
			}
			return nil
		},
	}
	var format string
	render := &cobra.Command{
		Use:   "render FILE",
		Short: "Write the record of processing activities for the supervisory authority (Art. 30(4)), as HTML or CSV",
		Example: `  gdpr register render register.json --format html > record.html
  gdpr register render register.json --format csv > record.csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "html" && format != "csv" {
				return usageErr("--format: html or csv")
			}
			f, err := os.Open(args[0])
			if err != nil {
				return usageErr("cannot read the register file")
			}
			defer f.Close()
			reg, err := gdpr.ParseRegister(f)
			if err == nil {
				err = reg.Validate()
			}
			if err != nil {
				return problem("the register is not valid, and is not rendered: %v", err)
			}
			if format == "csv" {
				return writeRegisterCSV(a.out, reg)
			}
			return writeRegisterHTML(a.out, reg)
		},
	}
	render.Flags().StringVar(&format, "format", "html", "html or csv")
	c.AddCommand(validate, render)
	return c
}
