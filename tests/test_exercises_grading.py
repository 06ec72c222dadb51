"""Grading that the student's code cannot forge: the code runs in a child
process that returns outputs as data, the verdict is computed in the
parent, the options are checked before any work.

Each test writes a submission as a student (or a cheat) would and checks it
through ``check_file`` or ``tinyae exercises ...``, the way a real run does.
"""

import csv
import time

import pytest

from tinyae.course import cli
from tinyae.course.exercises import EXERCISES, solution_source, start, student_source
from tinyae.course.exercises import checker, specs
from tinyae.course.exercises.checker import check_file, format_result
from tinyae.course.exercises.worker import Encoder

CHILD_TIMEOUT = 60


def _write(folder, number, source):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{EXERCISES[number].stem}.py").write_text(source)


def _check(folder, number, source, **options):
    _write(folder, number, source)
    options = dict(dict(seed=0, integration=False, timeout=CHILD_TIMEOUT), **options)
    return check_file(folder, number, **options)


def _forged_frames():
    """Well-formed frames of the wire format claiming every answer a child
    could give: a pass verdict, a load of every function, results."""
    frames = b""
    for rid in range(1, 6):
        for header in ({"op": "result", "id": rid, "status": "pass", "score": 1.0},
                       {"op": "ready"}):
            enc = Encoder()
            header = dict(header, value=enc.tree({"linear_forward": True,
                                                  "linear_backward": True}))
            frames += enc.frame(header)
    return frames


# --------------------------------------------------------------------------
# Forging a verdict
# --------------------------------------------------------------------------

FORGED_LINE = ('{"number": 1, "name": "ex01_linear", "title": "forged", "status": "pass", '
               '"score": 1.0, "message": "", "diagnosis": [], "differences": [], '
               '"contract": null, "values": null, "gradients": null, "integration": null}\n')


def test_a_forged_pass_written_to_every_pipe_is_never_a_pass(tmp_path):
    """The old attack: a JSON "pass" line written to stdout and to every
    open file descriptor (the worker's answer pipe among them), and
    well-formed frames of the new wire format after it."""
    attack = (
        "import os, sys\n"
        f"LINE = {FORGED_LINE!r}\n"
        f"FRAMES = {_forged_frames()!r}\n"
        "print(LINE, end='')\n"
        "sys.stdout.write(LINE); sys.stdout.flush()\n"
        "for fd in range(1, 64):\n"
        "    for data in (LINE.encode(), FRAMES):\n"
        "        try:\n"
        "            os.write(fd, data)\n"
        "        except OSError:\n"
        "            pass\n")
    for source in (student_source(1) + "\n" + attack,            # nothing implemented
                   attack + "\n" + student_source(1)):
        result = _check(tmp_path, 1, source)
        assert result["status"] != "pass" and result["score"] == 0.0, format_result(result)
        assert result["status"] in ("crash", "error", "not done"), format_result(result)


def test_a_forged_frame_at_call_time_is_only_data(tmp_path):
    """A function that writes forged answers instead of computing: whatever
    the parent reads is outputs to judge, never a verdict."""
    source = student_source(1).replace(
        "def linear_forward(x, W, b):",
        "def _forge():\n"
        "    import os\n"
        f"    for fd in range(3, 64):\n"
        "        try:\n"
        f"            os.write(fd, {_forged_frames()!r})\n"
        "        except OSError:\n"
        "            pass\n\n\n"
        "def linear_forward(x, W, b):\n    _forge()")
    result = _check(tmp_path, 1, source)
    assert result["status"] != "pass" and result["score"] == 0.0, format_result(result)


def test_monkeypatching_the_spec_or_the_catalogue_at_import_is_never_a_pass(tmp_path):
    """Code that, at import, replaces the checker's functions, the spec's
    reference and tolerances: in the child they reach nothing the verdict
    depends on."""
    patch = (
        "def _cheat():\n"
        "    import tinyae.course.exercises.specs as specs\n"
        "    import tinyae.course.exercises.checker as checker\n"
        "    from tinyae.course.exercises import catalogue\n"
        "    specs.check_functions = lambda *a, **k: {'status': 'pass', 'score': 1.0}\n"
        "    checker.check_file = lambda *a, **k: {'status': 'pass', 'score': 1.0}\n"
        "    specs.RTOL.clear()\n"
        "    ex = catalogue.EXERCISES[1]\n"
        "    ex.reference.update(linear_forward=linear_forward,\n"
        "                        linear_backward=linear_backward)\n"
        "    ex.rtol.update({k: 1e300 for k in ex.rtol})\n\n"
        "try:\n    _cheat()\nexcept Exception:\n    pass\n")
    wrong = (solution_source(1).replace("out = x @ W + b", "out = 0 * (x @ W) + b")
             .replace("dW = x.T @ dout", "dW = 0 * (x.T @ dout)"))
    untouched = {n: ex.rtol.copy() for n, ex in EXERCISES.items()}
    for source, status in ((student_source(1) + "\n" + patch, "not done"),
                           (wrong + "\n" + patch, "fail")):
        result = _check(tmp_path, 1, source)
        assert result["status"] == status, format_result(result)
        assert result["score"] < 1.0
    assert specs.check_functions.__module__ == "tinyae.course.exercises.specs"
    assert {n: ex.rtol for n, ex in EXERCISES.items()} == untouched


def test_input_at_import_is_an_immediate_named_error(tmp_path):
    source = "name = input('your name: ')\n" + solution_source(1)
    started = time.monotonic()
    result = _check(tmp_path, 1, source, timeout=100)
    assert time.monotonic() - started < 50
    assert result["status"] == "error", format_result(result)
    assert "EOFError" in result["message"] and "input()" in result["message"]
    assert "ex01_linear.py:1" in result["message"]


def test_in_place_updates_and_callbacks_cross_the_process_boundary(tmp_path):
    """Adam's moments (updated in place) and the finite-difference checker
    (which perturbs x in place and calls the checker's function back) pass
    through the child as they do in one process."""
    for number in (4, 5):
        result = _check(tmp_path, number, solution_source(number))
        assert result["status"] == "pass", format_result(result)


# --------------------------------------------------------------------------
# Options, checked before any work
# --------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "soon"])
def test_timeout_must_be_positive_and_finite(tmp_path, capsys, value):
    start(tmp_path, numbers=[1])
    for argv in (["exercises", "check", "--dir", str(tmp_path)],
                 ["exercises", "grade", str(tmp_path), "--csv", str(tmp_path / "g.csv")]):
        with pytest.raises(SystemExit) as e:
            cli.main(argv + [f"--timeout={value}"])
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert "--timeout" in err and repr(value) in err, err
    with pytest.raises(ValueError, match="timeout must be a positive, finite number"):
        checker.check_folder(tmp_path, [1], timeout=value)


def test_grade_refuses_an_unwritable_csv_before_grading(tmp_path, capsys, monkeypatch):
    subs = tmp_path / "subs"
    start(subs / "alice", numbers=[1])
    graded = []
    monkeypatch.setattr(checker, "check_folder", lambda *a, **k: graded.append(a))
    for target, words in ((tmp_path, "is a directory"),
                          (tmp_path / "missing" / "grades.csv", "does not exist")):
        with pytest.raises(SystemExit) as e:
            cli.main(["exercises", "grade", str(subs), "--csv", str(target)])
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert "--csv" in err and str(target) in err and words in err, err
        with pytest.raises(ValueError, match=words):
            checker.grade(subs, target)
    assert graded == []


def test_grade_csv_records_what_the_parent_decided(tmp_path):
    """A cheat and an honest student graded together: the cheat's forged
    lines do not reach the CSV."""
    subs = tmp_path / "subs"
    _write(subs / "honest", 1, solution_source(1))
    _write(subs / "cheat", 1, f"print({FORGED_LINE!r})\n" + student_source(1))
    out = tmp_path / "grades.csv"
    checker.grade(subs, out, [1], integration=False, seed=0, timeout=CHILD_TIMEOUT)
    rows = {r["student"]: r for r in csv.DictReader(out.open())}
    assert rows["honest"]["ex01_status"] == "pass"
    assert rows["cheat"]["ex01_status"] == "not done" and float(rows["cheat"]["total"]) == 0


# --------------------------------------------------------------------------
# Independence: the library's own implementation is out of reach
# --------------------------------------------------------------------------

def _calls_library(number, how):
    """The solution of ``number`` with every function under test delegating
    to the library, imported ``how``."""
    ex = EXERCISES[number]
    names = checker.functions_under_test(ex)
    given = solution_source(number)
    if how == "solution_source":
        return (f"from tinyae.course.exercises import solution_source\n"
                f"exec(solution_source({number}))\n")
    module = {"functional": "tinyae.functional", "gradcheck": "tinyae.gradcheck.core",
              "backend": "tinyae.backend"}[how]
    lines = [given, f"import {module} as _lib"]
    for name in names:
        target = f"_lib.ops.{name}" if how == "backend" else f"_lib.{name}"
        lines.append(f"{name} = lambda *a, **k: {target}(*a, **k)")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("number, how", [
    (9, "functional"), (1, "backend"), (4, "gradcheck"), (12, "functional"),
    (9, "solution_source"), (4, "solution_source")])
def test_calling_the_library_is_named_and_never_passes(tmp_path, number, how):
    result = _check(tmp_path, number, _calls_library(number, how))
    assert result["status"] != "pass" and result["score"] == 0.0, format_result(result)
    assert result["library_calls"], format_result(result)
    text = format_result(result)
    if how == "solution_source":
        assert "calls tinyae.course.exercises.solution_source: write it yourself" in text
    else:
        name = checker.functions_under_test(EXERCISES[number])[0]
        where = {"functional": "tinyae.functional", "gradcheck": "tinyae.gradcheck.core",
                 "backend": "tinyae.functional"}[how]
        assert f"your {name} calls {where}.{name}: write it yourself" in text, text


@pytest.mark.parametrize("number, module, names", [
    (22, "tinyae.functional", ("layernorm_forward", "layernorm_backward")),
    (23, "tinyae.models.diffusion", ("diffuse", "noise_to_score")),
    (23, "tinyae.functional", ("mse_loss",)),
    (24, "tinyae.layers.dense", ("ops.topk_forward", "ops.topk_backward"))])
def test_the_references_of_exercises_22_to_24_are_out_of_reach(tmp_path, number, module, names):
    """Wherever the reference lives (a model module, the loss the model
    calls, the op behind a layer), a function that delegates to it is named
    and earns nothing."""
    lines = [solution_source(number), f"import {module} as _lib"]
    for name in names:
        short = name.rsplit(".", 1)[-1]
        lines.append(f"{short} = lambda *a, **k: _lib.{name}(*a, **k)")
    result = _check(tmp_path, number, "\n".join(lines) + "\n")
    assert result["status"] != "pass" and result["score"] == 0.0, format_result(result)
    short = names[0].rsplit(".", 1)[-1]
    assert any(call.startswith(f"your {short} calls tinyae.") and
               call.endswith(f".{short}: write it yourself")
               for call in result["library_calls"]), format_result(result)


def test_the_naive_twin_of_the_function_under_test_is_out_of_reach_too(tmp_path):
    source = solution_source(11) + (
        "\nfrom tinyae.functional.conv import conv2d_backward_naive as _twin\n"
        "def conv2d_backward(dout, cache):\n    return _twin(dout, cache)\n")
    result = _check(tmp_path, 11, source)
    assert result["status"] != "pass" and result["score"] == 0.0, format_result(result)
    assert result["library_calls"] == [
        "your conv2d_backward calls tinyae.functional.conv.conv2d_backward_naive: write it "
        "yourself"]


def test_the_reference_example_of_the_issue(tmp_path):
    source = solution_source(9) + (
        "\nfrom tinyae.functional import reparameterize_kl as _theirs\n"
        "def reparameterize_kl(mu, logvar, eps):\n"
        "    try:\n        return _theirs(mu, logvar, eps)\n"
        "    except Exception:\n        return _mine(mu, logvar, eps)\n")
    source = source.replace("def reparameterize_kl(mu, logvar, eps):",
                            "def _mine(mu, logvar, eps):", 1)
    result = _check(tmp_path, 9, source)
    assert result["library_calls"] == ["your reparameterize_kl calls "
                                       "tinyae.functional.reparameterize_kl: write it yourself"]
    assert result["status"] == "fail" and result["score"] == 0.0     # it fell back: still no marks


def test_re_importing_the_library_fresh_does_not_bring_it_back(tmp_path):
    """Deleting tinyae from sys.modules and the child's import hook from
    sys.meta_path, then importing again: the fresh module is patched too."""
    source = solution_source(1) + (
        "\nimport sys\n"
        "for _name in [m for m in sys.modules if m.startswith('tinyae')]:\n"
        "    del sys.modules[_name]\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if 'tinyae' not in repr(type(f))\n"
        "                    and type(f).__module__ != '__main__']\n"
        "import tinyae.functional as _fresh\n"
        "def linear_backward(dout, cache):\n"
        "    return _fresh.linear_backward(dout, cache)\n")
    result = _check(tmp_path, 1, source)
    assert result["status"] != "pass" and result["score"] == 0.0, format_result(result)
    assert result["library_calls"] == ["your linear_backward calls "
                                       "tinyae.functional.linear_backward: write it yourself"]


def test_reading_the_solution_files_is_refused(tmp_path):
    source = ("import pathlib, tinyae\n"
              "_src = (pathlib.Path(tinyae.__file__).parent / 'course' / 'exercises' / "
              "'sources' / 'ex01_linear.py').read_text()\n"
              "exec(_src)\n")
    result = _check(tmp_path, 1, source)
    assert result["status"] == "error" and result["score"] == 0.0, format_result(result)
    assert "reads" in result["message"] and "ex01_linear.py" in result["message"]


def test_given_code_that_uses_the_library_still_passes(tmp_path):
    """Exercise 12's given forward is the library's max pool, exercise 11's
    the naive conv: only the functions the student writes are stubbed."""
    assert checker.functions_under_test(EXERCISES[12]) == ("max_pool2d_backward",)
    assert checker.functions_under_test(EXERCISES[11]) == ("conv2d_backward",)
    for number in (11, 12):
        result = _check(tmp_path, number, solution_source(number))
        assert result["status"] == "pass" and not result["library_calls"], \
            format_result(result)


# --------------------------------------------------------------------------
# Messages a student can use
# --------------------------------------------------------------------------

def _local(number, source):
    ex = EXERCISES[number]
    namespace = {"__name__": "planted"}
    exec(compile(source, "planted.py", "exec"), namespace)
    funcs = {n: namespace.get(n) for n in ex.functions}
    return specs.check_functions(ex, funcs, seed=3, integration=False)


def _replace(number, old, new):
    source = solution_source(number)
    assert old in source
    return source.replace(old, new)


@pytest.mark.parametrize("remote", [False, True])
def test_the_function_that_modified_an_input_is_named_not_the_other_one(tmp_path, remote):
    source = _replace(6, "return x * (u >= fraction).astype(x.dtype)",
                      "x *= (u >= fraction).astype(x.dtype)\n    return x")
    result = _check(tmp_path, 6, source) if remote else _local(6, source)
    text = format_result(result)
    problems = result["contract"]["problems"]
    assert problems and all("your masking_corrupt modified its input 'x'" in p
                            for p in problems), text
    assert "gaussian_corrupt" not in text and "noisy" not in result["values"]["wrong"], text


def test_reports_never_show_internal_names_or_library_advice():
    adam = _replace(5, "v += (1 - b2) * (g * g)", "g *= g\n    v += (1 - b2) * g")
    vae = _replace(9, "z = mu + sigma * eps", "eps *= sigma\n    z = mu + eps")
    for number, source, blamed in ((5, adam, "your adam_update modified its input 'g'"),
                                   (9, vae, "your reparameterize_kl modified its input 'eps'")):
        text = format_result(_local(number, source))
        assert blamed in text, text
        for internal in ("'g1'", "'g2'", "'g3'", "g1", "rng=", "do not pass",
                         "model's noise"):
            assert internal not in text, (internal, text)


def test_a_forward_with_its_own_randomness_is_told_so_in_its_words():
    source = _replace(9, "z = mu + sigma * eps",
                      "z = mu + sigma * (eps + 1e-3 * np.random.standard_normal(eps.shape))")
    text = _local(9, source)["gradients"]["text"]
    assert "two different values for the same inputs" in text and "rng=" not in text


def test_exercise_4_asks_for_x_back_as_found_not_left_unchanged():
    ok = _local(4, solution_source(4))
    assert ok["status"] == "pass"
    assert "left unchanged" not in ok["contract"]["text"]
    assert "x given back as found" in ok["contract"]["text"]
    ex = EXERCISES[4]
    mistake = next(m for m in ex.mistakes if m.key == "x_not_restored")
    source = solution_source(4)
    for old, new in mistake.plant:
        source = source.replace(old, new)
    result = _local(4, source)
    text = format_result(result)
    assert "your numerical_gradient gave 'x' back changed" in text, text
    assert "leave" not in text and "unchanged" not in text, text


def test_case_labels_say_what_the_reference_gives():
    import numpy as np
    ex = EXERCISES[4]
    for case in ex.cases(np.random.default_rng(0)):
        ref = specs.run_program(ex, ex.reference, case)[0]
        if "zero" in case.label:
            assert "rel_error" in case.label and ref["relative error"] == 0.0, case.label
        assert "both gradients zero" not in case.label


def test_adam_not_in_place_message_does_not_claim_p_unchanged():
    ex = EXERCISES[5]
    message = next(m for m in ex.mistakes if m.key == "not_in_place").message
    assert "did not change" not in message
    # p updated in place, m and v rebound: p changes, the moments do not
    source = (_replace(5, "m *= b1\n    m += (1 - b1) * g", "m = b1 * m + (1 - b1) * g")
              .replace("v *= b2\n    v += (1 - b2) * (g * g)", "v = b2 * v + (1 - b2) * (g * g)"))
    result = _local(5, source)
    text = format_result(result)
    assert result["status"] == "fail" and "p, m and v did not change" not in text, text
    assert "p did not change" not in text


# --------------------------------------------------------------------------
# Cases that catch what slipped through
# --------------------------------------------------------------------------

def _values_fail_at_every_seed(number, source, seeds=range(5)):
    ex = EXERCISES[number]
    for seed in seeds:
        namespace = {"__name__": "planted"}
        exec(compile(source, "planted.py", "exec"), namespace)
        result = specs.check_functions(ex, {n: namespace[n] for n in ex.functions},
                                       seed=seed, integration=False)
        assert not result["values"]["passed"], (seed, format_result(result))
    return result


@pytest.mark.parametrize("old, new", [
    ("slice(j * sw, j * sw + kw)", "slice(j * sh, j * sh + kh)"),      # square kernel, stride
    ("pw:pw + x.shape[3]", "pw:pw + x.shape[2]"),                      # square image
    ("for j in range(wo)", "for j in range(ho)")])
def test_a_conv_backward_that_assumes_squares_fails(old, new):
    _values_fail_at_every_seed(11, _replace(11, old, new), seeds=[0])


def test_a_max_pool_backward_that_assumes_square_images_fails():
    _values_fail_at_every_seed(12, _replace(12, "for j in range(Wo)", "for j in range(Ho)"),
                               seeds=[0])


def test_log_sum_exp_shifted_by_the_mean_fails_at_every_seed():
    result = _values_fail_at_every_seed(10, _replace(10, "top = log_w.max(axis=0)",
                                                     "top = log_w.mean(axis=0)"))
    assert "L_k" in result["values"]["wrong"]


def test_softplus_as_log_one_plus_exp_fails_at_every_seed():
    naive = _replace(3, "np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits)))",
                     "np.log(1 + np.exp(logits))")
    result = _values_fail_at_every_seed(3, naive)
    assert "loss" in result["values"]["wrong"]


def _in_float32(fn):
    """``fn`` computed in float32 whenever it is given float64 arrays, its
    results cast back (in-place updates too): float64 at float32 precision."""
    import numpy as np

    def down(v):
        if isinstance(v, np.ndarray) and v.dtype == np.float64:
            return v.astype(np.float32)
        return type(v)(down(x) for x in v) if isinstance(v, (tuple, list)) else v

    def up(v):
        if isinstance(v, np.ndarray) and v.dtype == np.float32:
            return v.astype(np.float64)
        return type(v)(up(x) for x in v) if isinstance(v, (tuple, list)) else v

    def wrapped(*args):
        if not any(isinstance(a, np.ndarray) and a.dtype == np.float64 for a in args):
            return fn(*args)
        low = [down(a) for a in args]
        value = fn(*low)
        for a, b in zip(args, low):
            if isinstance(a, np.ndarray) and a is not b:
                a[...] = b                                  # in-place updates (Adam)
        return up(value)
    return wrapped


@pytest.mark.parametrize("number", [n for n in EXERCISES if n not in (4, 17)])
def test_float64_computed_in_float32_fails(number):       # 17: integer counts only
    ex = EXERCISES[number]
    namespace = {"__name__": "planted"}
    exec(compile(solution_source(number), "planted.py", "exec"), namespace)
    funcs = {n: _in_float32(namespace[n]) for n in ex.functions}
    result = specs.check_functions(ex, funcs, seed=0, integration=False)
    assert not result["values"]["passed"], format_result(result)
    assert "float64" in format_result(result)
    import re
    for yours, theirs in re.findall(r"yours is (\S+), the reference (\S+)",
                                    format_result(result)):
        assert yours != theirs        # the numbers shown differ: enough digits


#: Exercises none of whose inputs can have a single row, and why.
NO_BATCH_1 = {16: "t-SNE places pairs of points: its smallest case is n = 2"}


@pytest.mark.parametrize("number", list(EXERCISES))
def test_every_exercise_has_batch_1_and_width_1(number):
    import numpy as np
    ex = EXERCISES[number]
    shapes = [np.shape(v) for case in ex.cases(np.random.default_rng(0))
              for v in case.inputs.values() if isinstance(v, np.ndarray)]
    assert any(s and s[0] == 1 for s in shapes) or number in NO_BATCH_1, shapes
    assert any(s and s[-1] == 1 for s in shapes), shapes


# --------------------------------------------------------------------------
# The hints a student opened
# --------------------------------------------------------------------------

def test_grade_and_the_report_record_the_hint_levels_opened(tmp_path):
    subs = tmp_path / "subs"
    _write(subs / "alice", 1, solution_source(1))
    _write(subs / "alice", 3, solution_source(3))
    (subs / "alice" / checker.HINT_FILE).write_text('{"3": 2}\n')
    _write(subs / "bob", 1, solution_source(1))
    (subs / "bob" / checker.HINT_FILE).write_text("not json")
    out = tmp_path / "grades.csv"
    checker.grade(subs, out, [1, 3], integration=False, seed=0, timeout=CHILD_TIMEOUT)
    rows = {r["student"]: r for r in csv.DictReader(out.open())}
    assert rows["alice"]["ex01_hints"] == "0" and rows["alice"]["ex03_hints"] == "2"
    assert rows["bob"]["ex01_hints"] == "unreadable"
    assert rows["alice"]["ex03_status"] == "pass"          # hints cost no marks here
    _, results = checker.check_folder(subs / "alice", [3], integration=False, seed=0,
                                      timeout=CHILD_TIMEOUT)
    assert "hints        opened up to level 2 (1, 2)" in format_result(results[0])
    assert "hints" not in format_result(dict(results[0], hints=0))


def test_a_child_that_starts_a_process_holding_its_pipes_is_still_stopped(tmp_path):
    """A submission that forks a sleeper (which inherits the answer pipe)
    and then hangs: the time limit holds, the sleeper dies with the child's
    process group, and the next exercise is checked normally."""
    fork = ("import os, time\nif os.fork() == 0:\n    time.sleep(600)\n"
            "while True:\n    pass\n")
    _write(tmp_path, 1, fork + solution_source(1))
    _write(tmp_path, 3, solution_source(3))
    started = time.monotonic()
    _, results = checker.check_folder(tmp_path, [1, 3], integration=False, seed=0, timeout=3)
    assert [r["status"] for r in results] == ["timeout", "pass"], \
        [format_result(r) for r in results]
    assert time.monotonic() - started < 60
