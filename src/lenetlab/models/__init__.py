"""The networks (conf/model/*.yaml) and what trains them: LeNet5 and its blocks, LeNetModule
(loss, metrics, optimizer and scheduler from conf/optimizer and conf/scheduler), and SDLM, the
paper's optimizer (conf/optimizer/sdlm.yaml)."""
