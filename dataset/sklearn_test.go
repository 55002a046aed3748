package dataset

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadBuiltins(t *testing.T) {
	tests := []struct {
		name           string
		rows, features int
		task           Task
		classes        int
		firstY         float64
		firstFeature   string
	}{
		{"diabetes", 442, 10, Regression, 0, 151, "age"},
		{"cancer", 569, 30, Classification, 2, 0, "mean radius"},
		{"iris", 150, 4, Classification, 3, 0, "sepal length (cm)"},
		{"wine", 178, 13, Classification, 3, 0, "alcohol"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Load(tt.name, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Name != tt.name || d.Task != tt.task || d.Classes != tt.classes {
				t.Errorf("got name %q task %v classes %d, want %q %v %d", d.Name, d.Task, d.Classes, tt.name, tt.task, tt.classes)
			}
			if d.Rows() != tt.rows || d.Features() != tt.features || len(d.Y) != tt.rows {
				t.Errorf("shape %dx%d with %d targets, want %dx%d", d.Rows(), d.Features(), len(d.Y), tt.rows, tt.features)
			}
			if len(d.FeatureNames) != tt.features {
				t.Errorf("%d feature names, want %d", len(d.FeatureNames), tt.features)
			}
			if d.FeatureNames[0] != tt.firstFeature {
				t.Errorf("first feature %q, want %q", d.FeatureNames[0], tt.firstFeature)
			}
			if d.Y[0] != tt.firstY {
				t.Errorf("first target %v, want %v", d.Y[0], tt.firstY)
			}
			if tt.task == Classification {
				seen := make(map[float64]bool)
				for _, y := range d.Y {
					seen[y] = true
				}
				if len(seen) != tt.classes {
					t.Errorf("labels %v, want all %d classes", seen, tt.classes)
				}
			}
		})
	}
}

func TestLoadFirstRowValues(t *testing.T) {
	// Spot-check against scikit-learn: iris row 0 is 5.1, 3.5, 1.4, 0.2.
	d, err := Load("IRIS", LoadOptions{}) // names are case-insensitive
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{5.1, 3.5, 1.4, 0.2}
	for j, v := range want {
		if d.X[0][j] != v {
			t.Errorf("X[0][%d] = %v, want %v", j, d.X[0][j], v)
		}
	}
	if d.Y[149] != 2 {
		t.Errorf("last label %v, want 2", d.Y[149])
	}
}

func TestLoadUnknownName(t *testing.T) {
	_, err := Load("boston", LoadOptions{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range Names() {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not list %q", err, name)
		}
	}
}

func TestNames(t *testing.T) {
	got := strings.Join(Names(), ",")
	if got != "cancer,diabetes,iris,wine" {
		t.Errorf("Names() = %s", got)
	}
}

const downloadHint = "go mod download github.com/pa-m/sklearn@v0.0.0-20200711083454-beb861ee48b1"

func TestLoadMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	_, err := Load("wine", LoadOptions{Dir: dir})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"dataset wine", filepath.Join(dir, "wine.json"), "LoadOptions.Dir", downloadHint} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %q does not wrap fs.ErrNotExist", err)
	}
}

func TestLoadMissingModuleCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(DataDirEnv, "")
	t.Setenv("GOMODCACHE", cache)
	_, err := Load("diabetes", LoadOptions{})
	if err == nil {
		t.Fatal("no error")
	}
	want := filepath.Join(cache, "github.com", "pa-m", "sklearn@v0.0.0-20200711083454-beb861ee48b1", "datasets", "data", "diabetes.json")
	if msg := err.Error(); !strings.Contains(msg, want) || !strings.Contains(msg, "fetch the data with: "+downloadHint) {
		t.Errorf("error %q, want path %q and the download hint", msg, want)
	}
}

func TestModCache(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("GOMODCACHE", "")
	t.Setenv("GOPATH", "")
	check := func(want string) {
		t.Helper()
		got, err := modCache()
		if err != nil || got != want {
			t.Errorf("modCache() = %q, %v; want %q", got, err, want)
		}
	}
	check(filepath.Join(home, "go", "pkg", "mod"))
	t.Setenv("GOPATH", "/a"+string(filepath.ListSeparator)+"/b")
	check(filepath.Join("/a", "pkg", "mod"))
	t.Setenv("GOMODCACHE", "/c")
	check("/c")
}

// writeJSON writes a dataset file the way Python's json module does, NaN and all.
func writeJSON(t *testing.T, name, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name+".json"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadEnvOverride(t *testing.T) {
	dir := writeJSON(t, "iris", `{"data": [[1, 2, 3, 4], [5, 6, 7, 8]], "target": [0, 2],
		"feature_names": ["a", "b", "c", "d"], "target_names": ["x", "y", "z"], "DESCR": "NaN in a string is fine"}`)
	t.Setenv(DataDirEnv, dir)
	d, err := Load("iris", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Rows() != 2 || d.X[1][3] != 8 || d.Y[1] != 2 {
		t.Errorf("got %+v", d)
	}
	// LoadOptions.Dir wins over the environment.
	if _, err := Load("iris", LoadOptions{Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "LoadOptions.Dir") {
		t.Errorf("Dir did not take precedence: %v", err)
	}
}

func TestLoadBadJSON(t *testing.T) {
	const names = `"feature_names": ["age", "sex", "bmi"]`
	tests := []struct {
		name, dataset, body, want string
	}{
		{"NaN in X", "diabetes", `{"data": [[1, 2, 3], [4, 5, NaN]], "target": [1, 2], ` + names + `}`,
			`dataset diabetes: row 1, column "bmi": NaN`},
		{"-Infinity in X", "diabetes", `{"data": [[1, -Infinity, 3]], "target": [1], ` + names + `}`,
			`dataset diabetes: row 0, column "sex": -Inf`},
		{"NaN in Y", "diabetes", `{"data": [[1, 2, 3], [4, 5, 6]], "target": [1, NaN], ` + names + `}`,
			`dataset diabetes: row 1, target: NaN`},
		{"null cell", "diabetes", `{"data": [[1, null, 3]], "target": [1], ` + names + `}`,
			`row 0, column "sex": null (missing value)`},
		{"string cell", "diabetes", `{"data": [[1, "x", 3]], "target": [1], ` + names + `}`,
			`row 0, column "sex": string "x", want a number`},
		{"ragged", "diabetes", `{"data": [[1, 2, 3], [4, 5]], "target": [1, 2], ` + names + `}`,
			`row 1 has 2 values, want 3`},
		{"target count", "diabetes", `{"data": [[1, 2, 3], [4, 5, 6]], "target": [1], ` + names + `}`,
			`2 rows but 1 targets`},
		{"names count", "diabetes", `{"data": [[1, 2]], "target": [1], ` + names + `}`,
			`3 feature names for 2 features`},
		{"empty", "diabetes", `{"data": [], "target": [], ` + names + `}`,
			`empty dataset`},
		{"label range", "iris", `{"data": [[1], [2]], "target": [0, 3]}`,
			`row 1, target: class label 3 out of range [0, 3)`},
		{"label fraction", "cancer", `{"data": [[1], [2]], "target": [0, 0.5]}`,
			`row 1, target: class label 0.5 is not an integer`},
		{"target names", "wine", `{"data": [[1]], "target": [0], "target_names": ["a", "b"]}`,
			`target_names lists 2 classes, want 3`},
		{"syntax", "iris", "{\"data\": [[1],\n [2,]], \"target\": [0, 1]}",
			`invalid JSON at line 2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.dataset, LoadOptions{Dir: writeJSON(t, tt.dataset, tt.body)})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestQuoteNonFinite(t *testing.T) {
	in := `{"s": "NaN \"Infinity\" -Infinity", "v": [NaN, Infinity, -Infinity, -1, null, true]}`
	want := `{"s": "NaN \"Infinity\" -Infinity", "v": ["NaN", "Infinity", "-Infinity", -1, null, true]}`
	if got := string(quoteNonFinite([]byte(in))); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
