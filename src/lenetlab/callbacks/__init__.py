"""lenetlab's own Lightning callbacks: conf/callbacks/<name>.yaml builds callbacks/<name>.py."""
