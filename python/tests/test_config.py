"""Config loading: the same defaults, validation and messages as src/config (schema.ts, load.ts)."""
import math
import os
import tempfile
import unittest

import _helpers  # noqa: F401

from rpg_torch.config import ConfigError, load_config_file, parse_config_text, validate_config
from rpg_torch.jsonc import JsoncError, js_stringify, parse_jsonc


class Defaults(unittest.TestCase):
    def test_defaults_are_the_typescript_ones_in_schema_order(self):
        c = validate_config({"model": {"arch": "lenet5"}})
        self.assertEqual(list(c), ["seed", "model", "rpg", "data", "train", "name"])
        self.assertEqual(c["name"], "experiment")
        self.assertEqual(c["model"], {"arch": "lenet5", "hidden": [256], "width": 1, "smallInput": False, "batchNorm": True})
        self.assertEqual(c["rpg"], {"enabled": True, "dof": "10%", "sampling": "ring", "freeFirst": False, "freeLast": False,
                                    "ringInitStd": math.sqrt(2 / 4608), "lrNormalization": "projected", "minReuseWarning": 1000,
                                    "generate": "kernels", "method": "ring"})
        self.assertEqual(c["data"], {"dataset": "mnist-embedded", "augment": False})
        self.assertEqual(c["train"], {"optimizer": "adam", "lr": 0.001, "momentum": 0.9, "weightDecay": 0, "schedule": "constant",
                                      "batchSize": 64, "epochs": 10, "engine": "tfjs", "backend": "auto", "precision": "fp32"})
        self.assertEqual(list(c["train"])[-3:], ["engine", "backend", "precision"])

    def test_baselines_are_the_tfjs_engines_and_generate_all_is_both(self):
        from rpg_torch.experiment import TrainError, resolve
        c = validate_config({"model": {"arch": "lenet5"}, "rpg": {"method": "hashed"}})
        self.assertEqual(c["rpg"]["method"], "hashed")
        with self.assertRaises(TrainError) as e:
            resolve(c, 28, 28, 1, 10)
        self.assertEqual(e.exception.field, "rpg.method")
        self.assertIn('set train.engine to "tfjs"', str(e.exception))
        self.assertIsNotNone(resolve(validate_config({"model": {"arch": "lenet5"}}), 28, 28, 1, 10).plan)
        plan = resolve(validate_config({"model": {"arch": "lenet5"}, "rpg": {"generate": "all"}}), 28, 28, 1, 10).plan
        self.assertEqual(plan.generatedCount, 44_426)  # every parameter, biases included
        self.assertEqual(plan.free, [])

    def test_model_sources_vit_and_rpg_free(self):
        c = validate_config({"model": {"arch": "vit", "vit": {"dim": 32}}, "rpg": {"free": ["attention", "stem"]}})
        self.assertEqual(c["model"]["vit"], {"patch": 4, "dim": 32, "depth": 4, "heads": 4, "mlpDim": 128, "dropout": 0})
        self.assertEqual(c["rpg"]["free"], ["attention", "stem"])
        self.assertNotIn("vit", validate_config({"model": {"arch": "mlp"}})["model"])
        graph = {"nodes": [{"id": "head", "op": "dense", "units": "numClasses"}]}
        self.assertEqual(validate_config({"model": {"graph": graph}})["model"]["graph"], graph)
        self.assertEqual(validate_config({"model": {"import": "m/model.json"}})["model"]["import"], "m/model.json")
        with self.assertRaises(ConfigError) as e:
            validate_config({"model": {}}, "x.rpg.json")
        self.assertEqual(str(e.exception), "x.rpg.json: model: give one of arch (a built-in architecture), graph (nodes) or import (a Keras model.json)")
        with self.assertRaises(ConfigError) as e:
            validate_config({"model": {"arch": "mlp", "graph": graph}}, "x.rpg.json")
        self.assertEqual(str(e.exception), "x.rpg.json: model.graph: give only one of arch, graph and import (this model has arch and graph)")
        with self.assertRaises(ConfigError) as e:
            validate_config({"model": {"arch": "vit", "vit": {"dim": 2}}}, "x.rpg.json")
        self.assertEqual(str(e.exception), "x.rpg.json: model.vit.dim: must be ≥ 4, got 2")

    def test_a_graph_without_its_resolved_spec_says_where_it_is_compiled(self):
        from rpg_torch.experiment import TrainError, resolve
        c = validate_config({"model": {"graph": {"nodes": [{"id": "head", "op": "dense", "units": "numClasses"}]}}})
        with self.assertRaises(TrainError) as e:
            resolve(c, 28, 28, 1, 10)
        self.assertEqual(e.exception.field, "model.graph")
        self.assertIn("rpg train CONFIG --engine torch", str(e.exception))

    def test_name_from_the_file(self):
        with tempfile.TemporaryDirectory() as d:
            f = os.path.join(d, "lenet-1k.rpg.json")
            with open(f, "w") as fh:
                fh.write('// a comment\n{ "model": { "arch": "mlp", }, /* block */ }\n')
            self.assertEqual(load_config_file(f)["name"], "lenet-1k")

    def test_the_written_json_is_what_javascript_writes(self):
        c = validate_config({"model": {"arch": "mlp"}, "train": {"lr": 1e-7, "epochs": 3.0}})
        text = js_stringify(c)
        self.assertIn('"lr":1e-7', text)
        self.assertIn('"epochs":3,', text)
        self.assertIn('"ringInitStd":0.020833333333333332', text)


class Errors(unittest.TestCase):
    def issues(self, raw):
        with self.assertRaises(ConfigError) as cm:
            validate_config(raw, "x.rpg.json")
        return cm.exception

    def test_unknown_fields_and_bad_values_name_the_dotted_field(self):
        e = self.issues({"model": {"arch": "lenet5", "depth": 3}, "train": {"lr": 0, "batchSize": 1.5}, "rpg": {"dof": "ten"}})
        text = str(e).split("\n")
        self.assertIn('x.rpg.json: model.depth: unknown field "depth"; expected one of arch, graph, import, vit, hidden, width, smallInput, numClasses, batchNorm', text)
        self.assertIn("x.rpg.json: rpg.dof: expected a percentage like \"10%\" or an integer ring size", text)
        self.assertIn("x.rpg.json: train.lr: must be > 0, got 0", text)
        self.assertIn("x.rpg.json: train.batchSize: expected an integer, got 1.5", text)
        self.assertEqual(e.field, "model.depth")

    def test_types(self):
        e = self.issues({"model": {"arch": "vgg"}, "seed": True, "data": "mnist"})
        text = str(e)
        self.assertIn('model.arch: expected one of "mlp", "lenet5", "resnet20", "resnet32", "resnet56", "resnet18", "resnet34", "vgg11", "vgg16", "mobilenetv2", "vit", got the string "vgg"', text)
        self.assertIn("seed: expected an integer, got boolean true", text)
        self.assertIn("data: expected an object, got the string \"mnist\"", text)

    def test_missing_model(self):
        self.assertEqual(str(self.issues({})), 'x.rpg.json: model: missing required field "model"')

    def test_dof_number_errors_speak_of_numbers(self):
        self.assertIn("rpg.dof: must be ≥ 1, got 0", str(self.issues({"model": {"arch": "mlp"}, "rpg": {"dof": 0}})))

    def test_syntax_errors_have_line_and_column(self):
        with self.assertRaises(ConfigError) as cm:
            parse_config_text('{\n  "model": { "arch": "mlp" }\n  "seed": 2\n}', "bad.rpg.json")
        self.assertEqual(str(cm.exception), "bad.rpg.json: JSON syntax error at 3:3: CommaExpected")

    def test_engine(self):
        self.assertEqual(validate_config({"model": {"arch": "mlp"}, "train": {"engine": "torch"}})["train"]["engine"], "torch")
        self.assertEqual(validate_config({"model": {"arch": "mlp"}})["train"]["engine"], "tfjs")


class Jsonc(unittest.TestCase):
    def test_comments_trailing_commas_and_no_nan(self):
        self.assertEqual(parse_jsonc('[1, 2, /* x */ 3, ] // end'), [1, 2, 3])
        with self.assertRaises(JsoncError):
            parse_jsonc("[NaN]")
        with self.assertRaises(JsoncError):
            parse_jsonc('{"a": 1} {"b": 2}')


if __name__ == "__main__":
    unittest.main()
