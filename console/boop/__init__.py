"""console.boop"""
