"""Which exercises go with which lesson: the one place the course map lives.

The lessons' "Exercises" sections, ``tinyae exercises list`` and the course
book read it from here; ``tests/test_lesson_format.py`` checks that every
lesson names the exercises this map gives it, and that every exercise
belongs to a lesson.
"""

#: lesson number (two digits) -> the exercise numbers that go with it, in order.
LESSON_EXERCISES = {
    "00": (4,),           # the finite-difference checker
    "01": (1,),           # the linear layer
    "02": (2, 3, 5),      # activations, BCE on logits, Adam
    "03": (6,),           # masking and Gaussian corruption
    "04": (7,),           # the contractive penalty
    "05": (8,),           # the KL sparsity penalty
    "06": (9,),           # reparameterisation and the Gaussian KL
    "07": (13,),          # the beta-VAE loss and its gradients
    "08": (14,),          # softmax cross-entropy
    "09": (15,),          # a blocked matrix product
    "10": (10,),          # the importance-weighted bound
    "11": (11, 12),       # conv2d backward, max-pool backward
    "12": (16,),          # the t-SNE objective and its gradient
    "13": (17,),          # Huffman code lengths
    "14": (18,),          # a Gaussian fitted to the codes, and samples
    "15": (19,),          # the Gaussian NLL with a learned variance, the variance floor
    "16": (20,),          # ISTA's proximal step: soft-threshold, one step, L
    "17": (21,),          # the VQ quantiser: nearest code, straight-through, losses
    "18": (22,),          # LayerNorm forward and backward
    "19": (23,),          # the noise-prediction loss and its gradient
    "20": (24,),          # the top-k activation, forward and backward
}


def lesson_of_exercise(number):
    """The lesson (two digits) an exercise goes with; an exercise outside
    the map is an error."""
    for lesson, numbers in LESSON_EXERCISES.items():
        if number in numbers:
            return lesson
    raise ValueError(f"exercise {number!r} belongs to no lesson in LESSON_EXERCISES")
