"""Learners shared by the RL papers: PPO, behaviour cloning, discrete CQL, policy evaluation on level sets."""
