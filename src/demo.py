"""A page to draw digits on and watch LeNet-5 read them, layer by layer.

    python src/demo.py                                   # http://127.0.0.1:7860/
    python src/demo.py ckpt_path=pretrained:lenet5_1998 port=8000
    python src/demo.py ckpt_path=outputs/<run>/checkpoints/best.ckpt

The command: src/lenetlab/commands/demo.py; the page: src/lenetlab/demo/.
"""

from lenetlab.cli.launch import launch

if __name__ == "__main__":
    launch("lenetlab.commands.demo", config_name="demo")
