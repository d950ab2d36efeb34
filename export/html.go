package export

import (
	"io"
	"time"

	"github.com/gdprkit/gdpr"
)

// htmlPage is what index.html shows: the controller, the Art. 15
// information (access bundles) and each dataset as a table of its first
// rows.
type htmlPage struct {
	Kind      gdpr.RequestKind
	Request   string
	Generated time.Time
	// Info is the Art. 15 information; set for access bundles, nil for
	// portability bundles (which show the controller from Controller).
	Info       *Information
	Controller string
	Datasets   []htmlDataset
	// Omitted counts records a portability bundle left out.
	Omitted int64
}

// htmlDataset is one dataset's table.
type htmlDataset struct {
	Name string
	// Records is the dataset's record count in the whole bundle; Shown
	// how many rows the table holds (at most WithHTMLRows).
	Records int64
	Shown   int64
	// Files are the data files that hold it, e.g. "data/x.json".
	Files []string
	// Columns are the table's columns: the CSV file's, flattened.
	Columns []string
	// Rows streams the table's rows, one []string of len(Columns) per
	// call of emit, and returns emit's first error.
	Rows func(emit func(cells []string) error) error
}

// writeHTML writes index.html for p to w. TODO(html): the template.
func writeHTML(w io.Writer, p *htmlPage) error {
	_, err := io.WriteString(w, "<!doctype html>\n")
	if err != nil {
		return err
	}
	if p.Datasets != nil {
		for _, d := range p.Datasets {
			if err := d.Rows(func([]string) error { return nil }); err != nil {
				return err
			}
		}
	}
	return nil
}
