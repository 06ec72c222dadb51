"""Statements that ask for the derivation, graded hints, and the command that
shows them (issue 24).

A statement (the student version, ``student_source(n)``) states the forward
pass, the shapes and the method; it must not print the backward formula the
student is asked to derive. ``LEAKS`` lists, per exercise, fragments of that
formula taken from the solution, in code and in LaTeX; both the statement and
the fragments are compared after ``_normalised`` (no spaces, no LaTeX spacing
or ``\\text``, no ``*`` or ``@``, one spelling of a transpose), so
``\\text{dout}\\, W^\\top`` and ``dout @ W.T`` are the same fragment.
"""

import json
import re

import pytest

from tinyae.course import cli
from tinyae.course.exercises import EXERCISES, hints, start, student_source
from tinyae.course.exercises.hint_levels import HINT_FILE, LEVELS, opened, record_opened
from tinyae.course.syllabus import lesson_of_exercise

#: Exercise number -> fragments of the backward pass (or, for exercises
#: without one, of the solution) that its statement must not contain.
LEAKS = {
    1: ["dout @ W.T", "x.T @ dout", "dout.sum(axis=0)", r"\text{dout}\, W^\top",
        r"x^\top \text{dout}", r"db_j = \sum_n \text{dout}_{nj}"],
    2: ["out * (1 - out)", "1 - out * out", "out > 0", r"\text{out}\,(1 - \text{out})",
        r"1 - \text{out}^2", "[x > 0]"],
    3: ["sigmoid(logits) - target", "= s(z) - t", "(s(z) - t)", r"\partial \ell / \partial z ="],
    4: ["(f_plus - f_minus) / (2 * h)", "x[idx] = old + h", "np.abs(a) + np.abs(n)",
        "the error is $O(h^2)$"],
    5: ["1 - b1 ** t", "1 - b2 ** t", r"1 - \beta_1^t", r"1 - \beta_2^t"],
    6: ["(u >= fraction).astype(x.dtype)", "(x + sigma * e).astype(x.dtype)"],
    7: ["2 * lam / n", "d * dd * c", "np.sum(d * d, axis=0)", "1 - 2 * h", "1 - 2h",
        "= -2h", r"2\, d_{nj}\, d'(h_{nj})\, c_j", r"2\, W_{ij} \sum_n d_{nj}^2"],
    8: ["-rho / rho_hat + (1 - rho) / (1 - rho_hat)", "drho_hat / n",
        r"-\frac{\rho}{\hat\rho_j} + \frac{1 - \rho}{1 - \hat\rho_j}",
        r"\partial \hat\rho_j / \partial h_{nj} = 1/N"],
    9: ["dz * eps * sigma", "beta * mu / n", "(sigma * sigma - 1.0) / n",
        r"dz + \frac{\beta}{N} \mu", r"dz\, \epsilon\, \sigma",
        r"\frac{\beta}{2N}\left(\sigma^2 - 1\right)",
        r"\partial z / \partial \text{logvar} = \epsilon \sigma / 2"],
    10: ["shifted / total", r"\frac{w_i}{\sum_j w_j}", "softmax"],
    11: ["np.tensordot(g, W, axes=(1, 0))", "np.tensordot(g, xp[win], axes=(0, 0))",
          "dout.sum(axis=(0, 2, 3))", r"\sum_{n, i, j} \text{dout}[n, f, i, j]",
          r"\sum_f \text{dout}[n, f, i, j]\, W[f, c, p, q]"],
    12: ["argmax(axis=2)", "dx[n, c, rows, cols] += g", "with slope 1",
         "only that entry gets the gradient", "add, don't assign"],
    13: ["(sigmoid(logits) - x) / n", "beta * mu / n", "(np.exp(logvar) - 1.0) / n",
         "np.expm1(logvar)", r"\frac{s(z) - x}{N}", r"\frac{\beta}{N}\, \mu",
         r"\frac{\beta}{2N}\left(e^{\text{logvar}} - 1\right)"],
    14: ["p[rows, labels] -= 1.0", "dlogits = p / n", "p - onehot", r"p_k - [k = y]",
         r"p_{nk} - [k = y_n]", r"\frac{e^{z_{nk}}}{\sum_j e^{z_{nj}}} - "],
    15: ["j0:j0 + block] += kernel(", "range(0, k, block)", "range(0, m, block)",
         r"\sum_P A[I, P]\, B[P, J]", r"\sum_{P} A[I, P]\, B[P, J]"],
    16: ["(p - q) * w", "4.0 * np.einsum", r"4 \sum_j (p_{ij} - q_{ij})",
         r"(p_{ij} - q_{ij})\, w_{ij}\, (y_i - y_j)", r"-2 w_{ij}^2 (y_i - y_j)",
         r"-2 w_{ij} (y_i - y_j)"],
    17: ["lengths[leaves1 + leaves2] += 1", "lengths[a + b] += 1",
         "every symbol in either of them", "every leaf below"],
    18: ["centred.T @ centred / (n - 1)", "eps @ factor.T", "eps @ L.T",
         r"\frac{1}{n - 1}", r"\epsilon L^\top", r"(n - 1)\Sigma"],
    19: ["-(r * inv_v) / n", "0.5 * (1.0 - r2v) / n", "ds / (1 + np.exp(-u))",
         "ds * sigmoid", r"\frac{1}{2N}\left(1 - r^2 e^{-s}\right)", r"1 - r^2 e^{-s}",
         r"-\frac{r\, e^{-s}}{N}", r"\sigma(\text{raw} - l)", "the logistic function"],
    20: ["(z @ D - x) @ D.T", "residual @ D.T", "(z D - x) D^T", r"(z_n D - x_n) D^\top",
         "v - t * np.sign(v)", r"\text{sign}(v) \max(|v| - t, 0)", "np.abs(v) - t",
         r"\|D\|_2^2", "np.linalg.norm(D, 2)", "largest singular value",
         "largest eigenvalue"],
    21: ["(2 * beta / n) * (z_e - z_q_sg)", "np.add.at(dcodebook", "dz_e = dout",
         "(codebook[idx] - z_e_sg)", r"\frac{2\beta}{N}", r"\frac{2}{N} \sum_{m : k_m = k}",
         "(e_k - z_e[m])", "copied across unchanged", "crosses unchanged"],
    22: ["g.mean(axis=-1, keepdims=True)", "xhat * (g * xhat).mean", "(dout * xhat).reshape(",
         "dout.reshape(-1, d).sum(axis=0)", r"\frac1D \sum_i g_i \hat x_i",
         r"\delta_{ij} - \frac1D - \hat x_i \hat x_j / D", r"-r^2 \hat x_j / D",
         r"\sum_\text{rows} \text{dout} \odot \hat x", "sums to 0 and is orthogonal"],
    23: ["2 * diff / n", "2 * (pred - target) / n", r"\frac{2}{N}", "2/N", "-eps_hat / sigma",
         "-eps_hat / np.sqrt", r"-\frac{\hat\epsilon}{\sqrt{1 - \bar\alpha}}",
         r"-\hat\epsilon / \sigma", r"\nabla \log p_t(x_t) = -", "twice the difference"],
    24: ["dout * mask", "dout * cache", "np.where(mask, dout, 0)", r"\text{dout}_j\, [\,j \in S",
         r"[i = j][i \in S", "dout where the forward kept"],
}

#: The formulas the statements printed before issue 24, one per exercise that
#: printed its own backward pass: the near miss each check must catch.
OLD_FORMULAS = {
    1: r"$$dx = \text{dout}\, W^\top, \qquad dW = x^\top \text{dout}, \qquad "
       r"db_j = \sum_n \text{dout}_{nj}.$$",
    2: r"| sigmoid | $s(x) = 1/(1+e^{-x})$ | $s'(x) = \text{out}\,(1 - \text{out})$ |",
    3: r"Its derivative is $\partial \ell / \partial z = s(z) - t$.",
    7: r"$$\frac{\partial P}{\partial h_{nj}} = \frac{\lambda}{N}\, 2\, d_{nj}\, "
       r"d'(h_{nj})\, c_j$$",
    8: r"$$\frac{\partial P}{\partial h_{nj}} = \frac{\beta}{N}\left(-\frac{\rho}{\hat\rho_j} "
       r"+ \frac{1 - \rho}{1 - \hat\rho_j}\right),$$",
    9: r"$$d\mu = dz + \frac{\beta}{N} \mu, \qquad d\,\text{logvar} = \tfrac12\, dz\, "
       r"\epsilon\, \sigma + \frac{\beta}{2N}\left(\sigma^2 - 1\right).$$",
    10: r"$$\frac{\partial L_k}{\partial \log w_i} = \frac{w_i}{\sum_j w_j}.$$",
    11: r"* $db_f = \sum_{n, i, j} \text{dout}[n, f, i, j]$.",
    12: "Only the maximal entry of a window influences the output, with slope 1",
}


def _normalised(text):
    text = re.sub(r"\\(?:text|mathrm|operatorname)\{([^{}]*)\}", r"\1", text)
    text = re.sub(r"\\(?:[,;!: ]|q?quad\b)", "", text)
    text = re.sub(r"\^\{?\\top\}?|\.T\b", "^T", text)
    return re.sub(r"[\s*@]", "", text)


def leaks(number, statement):
    """The fragments of exercise ``number``'s backward formula in ``statement``."""
    text = _normalised(statement)
    return [f for f in LEAKS[number] if _normalised(f) in text]


def test_every_exercise_has_a_list_of_leaks():
    assert set(LEAKS) == set(EXERCISES)


@pytest.mark.parametrize("number", list(EXERCISES))
def test_statement_asks_for_the_derivation_without_giving_it(number):
    statement = student_source(number)
    assert leaks(number, statement) == []
    lesson = lesson_of_exercise(number)
    assert f"Goes with lesson {lesson} (`lessons/{lesson}_" in statement
    assert f"tinyae exercises hint {number}`" in statement
    markdown = "\n".join(line for line in statement.splitlines() if line.startswith("#"))
    assert _inline_maths_broken(markdown) == []


@pytest.mark.parametrize("number", list(OLD_FORMULAS))
def test_the_old_formula_is_caught(number):
    """Near miss: today's statement with the line it used to print fails."""
    statement = student_source(number)
    assert leaks(number, statement + "\n# " + OLD_FORMULAS[number] + "\n")


def test_the_normalisation_matches_code_and_latex_spellings():
    assert _normalised(r"\text{dout}\, W^\top") == _normalised("dout @ W.T") == "doutW^T"
    assert _normalised(r"x^{\top} \text{dout}") == _normalised("x.T @ dout")
    assert _normalised("tot.Tal") == "tot.Tal"                 # .T only as a transpose


# --------------------------------------------------------------------------
# Hints: three levels per exercise
# --------------------------------------------------------------------------

def _inline_maths_broken(text):
    """Lines where a $...$ span opens and does not close (not $$ display)."""
    return [line for line in text.splitlines()
            if "$$" not in line and line.count("$") % 2]


@pytest.mark.parametrize("number", list(EXERCISES))
def test_three_hint_levels_each_non_empty(number):
    levels = hints(number)
    assert isinstance(levels, tuple) and len(levels) == LEVELS == 3
    assert all(isinstance(h, str) and len(h.split()) >= 15 for h in levels)
    assert len(set(levels)) == 3
    assert all(_inline_maths_broken(h) == [] for h in levels)
    assert leaks(number, levels[0]) == []              # level 1 never gives the formula


def test_hints_of_an_unknown_exercise_is_an_error():
    with pytest.raises(ValueError, match="unknown exercise 99"):
        hints(99)


def test_record_keeps_the_highest_level_and_replaces_the_file(tmp_path):
    assert opened(tmp_path) == {}
    record_opened(tmp_path, 9, 2)
    record_opened(tmp_path, 9, 1)
    record_opened(tmp_path, 3, 3)
    assert json.loads((tmp_path / HINT_FILE).read_text()) == {"3": 3, "9": 2}
    assert [p.name for p in tmp_path.iterdir()] == [HINT_FILE]      # no temporary left
    (tmp_path / HINT_FILE).write_text("[1, 2]")
    with pytest.raises(ValueError, match="is not a record of opened hints"):
        record_opened(tmp_path, 9, 3)
    assert (tmp_path / HINT_FILE).read_text() == "[1, 2]"           # left as it was


# --------------------------------------------------------------------------
# tinyae exercises hint / list
# --------------------------------------------------------------------------

def test_hint_prints_the_level_and_records_the_highest_opened(tmp_path, capsys, monkeypatch):
    start(tmp_path, numbers=[9])
    monkeypatch.chdir(tmp_path)
    assert cli.main(["exercises", "hint", "9"]) == 0
    out = capsys.readouterr().out
    assert "hint 1 of 3" in out and hints(9)[0] in out
    assert "tinyae exercises hint 9 --level 2" in out
    assert json.loads((tmp_path / HINT_FILE).read_text()) == {"9": 1}
    assert cli.main(["exercises", "hint", "09", "--level", "3"]) == 0
    out = capsys.readouterr().out
    assert "hint 3 of 3" in out and hints(9)[2] in out and "last level" in out
    assert cli.main(["exercises", "hint", "9", "--level", "2"]) == 0
    assert "up to level 3" in capsys.readouterr().out
    assert json.loads((tmp_path / HINT_FILE).read_text()) == {"9": 3}


def test_hint_outside_a_student_folder_records_nothing(tmp_path, capsys):
    assert cli.main(["exercises", "hint", "1", "--dir", str(tmp_path)]) == 0
    assert hints(1)[0] in capsys.readouterr().out
    assert not (tmp_path / HINT_FILE).exists()


@pytest.mark.parametrize("argv, named", [
    (["99"], "unknown exercise '99': the exercises are 1, 2,"),
    (["x"], "unknown exercise 'x'"),
    (["3", "--level", "4"], "invalid level '4': expected a whole number from 1 to 3"),
    (["3", "--level", "0"], "invalid level '0'"),
    (["3", "--level", "two"], "invalid level 'two'")])
def test_hint_refuses_bad_input(argv, named, tmp_path, capsys):
    start(tmp_path, numbers=[3])
    with pytest.raises(SystemExit) as e:
        cli.main(["exercises", "hint", *argv, "--dir", str(tmp_path)])
    assert e.value.code == 2
    assert named in capsys.readouterr().err
    assert not (tmp_path / HINT_FILE).exists()


def test_list_names_the_lesson_of_every_exercise(capsys):
    assert cli.main(["exercises", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for n, ex in EXERCISES.items():
        [line] = [l for l in lines if ex.stem in l]
        assert f"lesson {lesson_of_exercise(n)}" in line
