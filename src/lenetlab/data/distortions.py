"""Random planar distortions of a training batch, computed on the batch's device.

Each image gets its own random affine map (rotation, scaling, shear, translation; LeCun et al.
1998, section III.C) and optionally its own elastic deformation (Simard et al. 2003: a random
displacement field smoothed by a Gaussian). Both are folded into one sampling grid and applied
with a single ``grid_sample`` over the whole batch.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torchvision.transforms.v2.functional import gaussian_blur


@dataclass(frozen=True)
class Distortions:
    """Ranges: each value is drawn uniformly in [-range, +range] per image."""

    rotate_deg: float = 10.0
    scale: float = 0.1  # zoom factor in [1 - scale, 1 + scale], drawn per axis
    shear_deg: float = 10.0
    translate_px: float = 2.0
    elastic: bool = False
    elastic_alpha: float = 34.0  # Simard's scale of the smoothed uniform(-1, 1) field, in pixels
    elastic_sigma: float = 4.0  # Simard's Gaussian smoothing, in pixels

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) pixels (any dtype) -> distorted float pixels, background filled with 0."""
        images = images.float()
        n, _, height, width = images.shape
        theta = self.random_affine(n, height, width, images.device)
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        if self.elastic:
            grid = grid + self.random_displacement(n, height, width, images.device)
        return F.grid_sample(
            images, grid, mode="bilinear", padding_mode="zeros", align_corners=False
        )

    def random_affine(self, n: int, height: int, width: int, device) -> torch.Tensor:
        def uniform(limit: float, *shape) -> torch.Tensor:
            return (torch.rand(n, *shape, device=device) * 2 - 1) * limit

        return affine_theta(
            angle_deg=uniform(self.rotate_deg),
            shear_deg=uniform(self.shear_deg),
            zoom=1 + uniform(self.scale, 2),
            shift_px=uniform(self.translate_px, 2),
            height=height,
            width=width,
        )

    def random_displacement(self, n: int, height: int, width: int, device) -> torch.Tensor:
        """(N, H, W, 2) smooth random offsets (x, y) in affine_grid's [-1, 1] units."""
        field = torch.rand(n, 2, height, width, device=device) * 2 - 1
        kernel = 2 * round(3 * self.elastic_sigma) + 1
        field = gaussian_blur(field, [kernel, kernel], [self.elastic_sigma, self.elastic_sigma])
        pixels_x, pixels_y = field.unbind(1)  # in pixels, to [-1, 1] units along each axis
        offsets = (pixels_x * (2.0 / width), pixels_y * (2.0 / height))
        return torch.stack(offsets, dim=3) * self.elastic_alpha


def affine_theta(angle_deg, shear_deg, zoom, shift_px, height: int, width: int) -> torch.Tensor:
    """(N, 2, 3) ``affine_grid`` matrices that rotate by angle_deg (N,), shear x by shear_deg
    (N,), zoom by (N, 2) per axis and shift by (N, 2) pixels (x right, y down)."""
    n, device = angle_deg.shape[0], angle_deg.device
    angle, shear = torch.deg2rad(angle_deg), torch.deg2rad(shear_deg)
    cos, sin = torch.cos(angle), torch.sin(angle)
    rotation = torch.stack([cos, -sin, sin, cos], dim=1).view(n, 2, 2)
    shearing = torch.eye(2, device=device).repeat(n, 1, 1)
    shearing[:, 0, 1] = torch.tan(shear)
    forward = rotation @ shearing @ torch.diag_embed(zoom)
    # affine_grid maps each output pixel to where it samples the input: the inverse map.
    # inv_ex, not inv: inv checks for singular matrices, a wait for the GPU on every batch (the
    # zoom is at least 1 - scale > 0, so these never are).
    inverse = torch.linalg.inv_ex(forward).inverse
    shift = torch.stack([shift_px[:, 0] * (2.0 / width), shift_px[:, 1] * (2.0 / height)], 1)
    return torch.cat([inverse, -(inverse @ shift.unsqueeze(2))], dim=2)
