"""The ready pipelines, installed as snnflow.pipelines. They are scripts, not
modules to import: `snnflow pipelines` lists them and `snnflow run NAME` runs one
(with its folder on sys.path, where they find their "_" helpers)."""
