package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The module that ships the scikit-learn toy datasets as JSON. The version must match
// go.mod (pinned through tools.go): the module cache is laid out by exact version.
const (
	sklearnModule  = "github.com/pa-m/sklearn"
	sklearnVersion = "v0.0.0-20200711083454-beb861ee48b1"
	sklearnDataDir = "datasets/data"
)

// DataDirEnv names the environment variable that overrides where Load looks for the
// JSON files, for machines where the module cache is elsewhere or absent.
const DataDirEnv = "TESSERA_DATA_DIR"

// builtin describes what Load knows about each dataset without reading it.
type builtin struct {
	task    Task
	classes int
}

var builtins = map[string]builtin{
	"diabetes": {Regression, 0},     // 442 x 10, disease progression after one year
	"cancer":   {Classification, 2}, // 569 x 30, malignant (0) / benign (1)
	"iris":     {Classification, 3}, // 150 x 4
	"wine":     {Classification, 3}, // 178 x 13
}

// Names returns the datasets Load knows, sorted.
func Names() []string {
	names := make([]string, 0, len(builtins))
	for name := range builtins {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// LoadOptions tunes Load.
type LoadOptions struct {
	// Dir is a directory holding <name>.json. If empty, Load uses $TESSERA_DATA_DIR,
	// and if that is unset too, the datasets/data folder of the pinned
	// github.com/pa-m/sklearn module in the Go module cache.
	Dir string
}

// Load reads one of the scikit-learn toy datasets listed by Names (case-insensitive)
// and validates it. It never touches the network: if the file is missing, the error
// says which path was tried and how to fetch the module.
func Load(name string, opts LoadOptions) (*Dataset, error) {
	key := strings.ToLower(name)
	b, ok := builtins[key]
	if !ok {
		return nil, fmt.Errorf("dataset %q: unknown name, want one of %s", name, strings.Join(Names(), ", "))
	}
	dir, source, err := dataDir(opts)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", key, err)
	}
	path := filepath.Join(dir, key+".json")
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("dataset %s: %w (directory from %s); %s", key, err, source, fetchHint(source, key))
	}
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", key, err)
	}
	d, err := decodeSklearnJSON(key, raw, b)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %s: %w", key, path, err)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

func fetchHint(source, name string) string {
	download := "go mod download " + sklearnModule + "@" + sklearnVersion
	if source == "the Go module cache" {
		return "fetch the data with: " + download
	}
	return fmt.Sprintf("put %s.json there, or clear %s to read the Go module cache after: %s", name, source, download)
}

// dataDir resolves where the JSON files live and says where that choice came from,
// for error messages.
func dataDir(opts LoadOptions) (dir, source string, err error) {
	return moduleDataDir(opts, sklearnModule, sklearnVersion, sklearnDataDir)
}

// moduleDataDir resolves a data folder: opts.Dir, else $TESSERA_DATA_DIR, else
// folder sub of module@version in the Go module cache. source says which, for error
// messages.
func moduleDataDir(opts LoadOptions, module, version, sub string) (dir, source string, err error) {
	if opts.Dir != "" {
		return opts.Dir, "LoadOptions.Dir", nil
	}
	if dir := os.Getenv(DataDirEnv); dir != "" {
		return dir, DataDirEnv, nil
	}
	cache, err := modCache()
	if err != nil {
		return "", "", err
	}
	return filepath.Join(cache, filepath.FromSlash(escapeModulePath(module))+"@"+version, filepath.FromSlash(sub)),
		"the Go module cache", nil
}

// modCache mirrors the go command's default for GOMODCACHE from the environment alone,
// so that loading data needs no Go toolchain at run time. (A value stored with
// `go env -w` is not seen; set TESSERA_DATA_DIR in that case.)
func modCache() (string, error) {
	if dir := os.Getenv("GOMODCACHE"); dir != "" {
		return dir, nil
	}
	for _, gopath := range filepath.SplitList(os.Getenv("GOPATH")) {
		if gopath != "" {
			return filepath.Join(gopath, "pkg", "mod"), nil
		}
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("locating the Go module cache: %w; set GOMODCACHE or %s", err, DataDirEnv)
	}
	return filepath.Join(home, "go", "pkg", "mod"), nil
}

// sklearnJSON is the layout written by scikit-learn's Bunch objects. Cells stay raw so
// that a bad one can be reported with its row and column, which encoding/json cannot
// do, and so that null is an error rather than a silent 0.
type sklearnJSON struct {
	Data         [][]json.RawMessage `json:"data"`
	Target       []json.RawMessage   `json:"target"`
	FeatureNames []string            `json:"feature_names"`
	TargetNames  []string            `json:"target_names"`
}

func decodeSklearnJSON(name string, raw []byte, b builtin) (*Dataset, error) {
	var doc sklearnJSON
	raw = quoteNonFinite(raw)
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, jsonError(raw, err)
	}
	d := &Dataset{
		Name:         name,
		Task:         b.task,
		X:            make([][]float64, len(doc.Data)),
		Y:            make([]float64, len(doc.Target)),
		FeatureNames: doc.FeatureNames,
		Classes:      b.classes,
	}
	if doc.TargetNames != nil && len(doc.TargetNames) != b.classes {
		return nil, fmt.Errorf("target_names lists %d classes, want %d", len(doc.TargetNames), b.classes)
	}
	for i, row := range doc.Data {
		d.X[i] = make([]float64, len(row))
		for j, cell := range row {
			v, err := parseJSONNumber(cell)
			if err != nil {
				return nil, fmt.Errorf("row %d, column %s: %v", i, d.column(j), err)
			}
			d.X[i][j] = v
		}
	}
	for i, cell := range doc.Target {
		v, err := parseJSONNumber(cell)
		if err != nil {
			return nil, fmt.Errorf("row %d, target: %v", i, err)
		}
		d.Y[i] = v
	}
	return d, nil
}

// parseJSONNumber accepts a JSON number or one of the quoted non-finite tokens made by
// quoteNonFinite. Non-finite values are returned as such for Validate to report.
func parseJSONNumber(cell json.RawMessage) (float64, error) {
	switch s := string(cell); s {
	case "null":
		return 0, errors.New("null (missing value)")
	case `"NaN"`:
		return math.NaN(), nil
	case `"Infinity"`:
		return math.Inf(1), nil
	case `"-Infinity"`:
		return math.Inf(-1), nil
	default:
		if strings.HasPrefix(s, `"`) {
			return 0, fmt.Errorf("string %s, want a number", s)
		}
		return parseFloat(s)
	}
}

// quoteNonFinite turns the bare NaN, Infinity and -Infinity tokens that Python's json
// module writes for non-finite floats into strings, so that encoding/json accepts the
// file and Validate can report the offending cell instead of a syntax error.
func quoteNonFinite(b []byte) []byte {
	tokens := [][]byte{[]byte("-Infinity"), []byte("Infinity"), []byte("NaN")}
	out := make([]byte, 0, len(b))
	inString, escaped := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			out = append(out, c)
			continue
		}
		if c == '"' {
			inString = true
			out = append(out, c)
			continue
		}
		// Outside strings the only other letters are in true, false and null, which
		// none of the tokens is a prefix of.
		matched := false
		for _, tok := range tokens {
			if bytes.HasPrefix(b[i:], tok) {
				out = append(out, '"')
				out = append(out, tok...)
				out = append(out, '"')
				i += len(tok) - 1
				matched = true
				break
			}
		}
		if !matched {
			out = append(out, c)
		}
	}
	return out
}

// jsonError adds a line number to syntax errors, which encoding/json reports only as
// a byte offset. quoteNonFinite keeps newlines, so counting them in its output works.
func jsonError(raw []byte, err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) && syntax.Offset <= int64(len(raw)) {
		line := 1 + bytes.Count(raw[:syntax.Offset], []byte("\n"))
		return fmt.Errorf("invalid JSON at line %d: %w", line, err)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}
