"""7x12 bitmaps of the digits 0-9: the fixed RBF prototypes of LeNet-5's output layer.

LeCun et al. (1998), section II.B: each output unit's weights are a stylised 7x12 image of its
digit, +1 for ink ('#') and -1 for background ('.'), so that F6 learns to draw the digit it sees.
These are our own drawings in that spirit.
"""

import torch

BITMAPS = {
    0: """
.......
..###..
.##.##.
##...##
##...##
##...##
##...##
##...##
.##.##.
..###..
.......
.......""",
    1: """
.......
...##..
..###..
.####..
...##..
...##..
...##..
...##..
...##..
.######
.......
.......""",
    2: """
.......
.#####.
##...##
.....##
....##.
...##..
..##...
.##....
##.....
#######
.......
.......""",
    3: """
.......
#######
.....##
....##.
...##..
..####.
.....##
.....##
##...##
.#####.
.......
.......""",
    4: """
.......
....##.
...###.
..####.
.##.##.
##..##.
#######
....##.
....##.
....##.
.......
.......""",
    5: """
.......
#######
##.....
##.....
######.
.....##
.....##
.....##
##...##
.#####.
.......
.......""",
    6: """
.......
...###.
..##...
.##....
##.....
######.
##...##
##...##
##...##
.#####.
.......
.......""",
    7: """
.......
#######
.....##
....##.
....##.
...##..
...##..
..##...
..##...
..##...
.......
.......""",
    8: """
.......
.#####.
##...##
##...##
.#####.
##...##
##...##
##...##
##...##
.#####.
.......
.......""",
    9: """
.......
.#####.
##...##
##...##
##...##
.######
.....##
....##.
...##..
.###...
.......
.......""",
}


def digit_prototypes() -> torch.Tensor:
    """(10, 84) tensor of +-1: row k is the 12-row, 7-column bitmap of digit k, row by row."""
    rows = []
    for digit in range(10):
        lines = BITMAPS[digit].strip("\n").splitlines()
        assert len(lines) == 12 and all(len(line) == 7 for line in lines), digit
        rows.append([1.0 if pixel == "#" else -1.0 for line in lines for pixel in line])
    return torch.tensor(rows)
