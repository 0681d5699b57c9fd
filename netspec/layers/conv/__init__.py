"""Convolutions (1-D, 2-D, 3-D, transposed), padding and cropping, upsampling, and the moves of
values between channels and space (pixel shuffle/unshuffle, channel shuffle)."""

# The kind modules, in the order `netspec kinds` lists their kinds.
MODULES = (
    "conv2d", "conv1d", "conv3d", "conv_transpose2d", "conv_transpose1d", "conv_transpose3d",
    "zero_pad2d", "upsample", "crop2d", "pixel_shuffle",
    "pixel_unshuffle", "channel_shuffle",
)
